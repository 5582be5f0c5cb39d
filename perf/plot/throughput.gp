# Throughput vs commands per block (perf/run-suite).
#   gnuplot -e "datadir='RUN'; out='X.png'" perf/plot/throughput.gp
# Input: datadir/throughput.dat written by summarize.py:
#   cmds scpp_Mcmd/s scpp_Mblocks/s testpmd_Mblocks/s redis_get_Mops/s
set terminal pngcairo size 900,540 font ",10" noenhanced
set output out
if (!exists("commit")) commit = "?"
set title "scppd, one worker core, over net_memif: throughput vs commands per block (commit ".commit.")"
set xlabel "commands per block (get-only, 8-byte values, 10^6 keys, uniform)"
set ylabel "millions per second"
set logscale x 2
set xtics (1, 4, 16, 64)
set logscale y 10
set key top left
set grid
set datafile missing "n/a"
plot datadir."/throughput.dat" using 1:2 with linespoints lw 2 pt 7 title "scpp commands/s", \
     ""                        using 1:3 with linespoints lw 2 pt 5 title "scpp blocks/s", \
     ""                        using 1:4 with linespoints lw 2 pt 9 dt 2 title "testpmd io (same frames) blocks/s", \
     ""                        using 1:5 with lines lw 2 dt 3 title "Redis GET ops/s (-P 16)"
