# Latency CDF at 50 % and 90 % of the closed-loop peak (perf/run-suite).
#   gnuplot -e "datadir='RUN'; out='X.png'" perf/plot/latency.gp
# Input: datadir/cdf-<cell>.dat ("us fraction" per line) written by summarize.py.
set terminal pngcairo size 900,540 font ",10" noenhanced
set output out
if (!exists("commit")) commit = "?"
set title "round-trip latency CDF, open loop at 50 % and 90 % of peak (commit ".commit.")"
set xlabel "round trip (µs, log scale)"
set ylabel "fraction of blocks"
set logscale x 10
set yrange [0:1]
set key bottom right
set grid
f(n) = datadir."/cdf-".n.".dat"
have(n) = system("test -s ".f(n)." && echo 1 || echo 0") + 0
cells = "lat-c1-p50 lat-c1-p90 lat-c16-p50 lat-c16-p90 testpmd-lat-c1-p50 testpmd-lat-c16-p50"
plot for [n in cells] (have(n) ? f(n) : "/dev/null") using 1:2 with lines lw 2 title n
