/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Canonical errno -> the errno scpp-fs returns to the kernel.
 *
 * One row per canonical number (docs/ERRNO.md; lib/status's table): the
 * local value is written out as the platform's E* macro, never assumed
 * equal to the canonical number. Most rows are the same error; the ones
 * that are not say why in docs/ERRNO.md "scpp-fs": errors about the block
 * rather than the file (a limit of the evaluator, a malformed message, a
 * protocol error) are EIO to an application, as a disk's would be.
 * unit.fs checks that this table covers the canonical table exactly and
 * that docs/ERRNO.md lists exactly these rows.
 */
#include <errno.h>

#include "fs_core.h"
#include "scpp_common.h"
#include "scpp_status.h"

static const struct {
	uint16_t canonical;
	int local;
} fs_errno_tab[] = {
	{1, EPERM},
	{2, ENOENT},
	{3, ESRCH},
	{4, EINTR},
	{5, EIO},
	{6, ENXIO},
	{7, EIO},          /* E2BIG: a block over the evaluator's row or term limits */
	{8, ENOEXEC},
	{9, EBADF},
	{10, ECHILD},
	{11, EAGAIN},
	{12, ENOMEM},
	{13, EACCES},
	{14, EFAULT},
	{16, EBUSY},
	{17, EEXIST},
	{18, EXDEV},
	{19, ENODEV},
	{20, ENOTDIR},
	{21, EISDIR},
	{22, EINVAL},
	{23, ENFILE},
	{24, EMFILE},
	{25, ENOTTY},
	{26, ETXTBSY},
	{27, EFBIG},
	{28, ENOSPC},
	{29, ESPIPE},
	{30, EROFS},
	{31, EMLINK},
	{32, EPIPE},
	{33, EDOM},
	{34, ERANGE},
	{35, EDEADLK},
	{36, ENAMETOOLONG},
	{37, ENOLCK},
	{38, ENOSYS},
	{39, ENOTEMPTY},
	{40, ELOOP},
	{42, ENOMSG},
	{61, ENODATA},
	{62, EIO},         /* ETIME: the block ran out of steps or time */
	{66, EIO},         /* EREMOTE: an entity on another shard (EXDEV for rename and link) */
	{71, EIO},         /* EPROTO: protocol version */
	{74, EIO},         /* EBADMSG: a malformed message */
	{75, EOVERFLOW},
	{84, EIO},         /* EILSEQ: not UTF-8 (names are checked before sending) */
	{90, EIO},         /* EMSGSIZE: a reply over the evaluator's result limit */
	{95, EOPNOTSUPP},
	{97, EAFNOSUPPORT},
	{98, EADDRINUSE},
	{99, EADDRNOTAVAIL},
	{100, ENETDOWN},
	{101, ENETUNREACH},
	{103, ECONNABORTED},
	{104, ECONNRESET},
	{105, ENOBUFS},
	{107, ENOTCONN},
	{110, ETIMEDOUT},
	{111, ECONNREFUSED},
	{113, EHOSTUNREACH},
	{114, EIO},        /* EALREADY: a reply the node no longer holds */
	{115, EINPROGRESS},
	{116, ESTALE},
	{122, EDQUOT},
	{124, EIO},        /* EMEDIUMTYPE: the store holds another kind of value */
	{125, ECANCELED},
	{130, EOWNERDEAD},
	{131, ENOTRECOVERABLE},
};

bool
fs_errno_row(size_t i, uint32_t *canonical, int *local)
{
	if (i >= SCPP_ARRAY_SIZE(fs_errno_tab))
		return false;
	*canonical = fs_errno_tab[i].canonical;
	*local = fs_errno_tab[i].local;
	return true;
}

static int
map(uint32_t canonical)
{
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(fs_errno_tab); i++)
		if (fs_errno_tab[i].canonical == canonical)
			return fs_errno_tab[i].local;
	return EIO;
}

int
fs_errno(enum fs_op op, const struct fs_reply *r, int nstale)
{
	if (r->outcome == SCPP_OUTCOME_OK)
		return 0;
	if (r->outcome != SCPP_OUTCOME_ABORTED || r->err == 0)
		return EIO; /* the blocks collect no statuses */
	if (r->err == SCPP_ERRNO_NOENT && r->cmd >= 0 && r->cmd < nstale)
		return ESTALE;
	if (r->err == SCPP_ERRNO_REMOTE && (op == FS_OP_RENAME || op == FS_OP_LINK))
		return EXDEV;
	return map(r->err);
}

int
fs_errno_transport(int rc)
{
	if (rc == -ENOMEM)
		return ENOMEM;
	/* Time-outs, refused ports, lost replies, malformed replies: the node
	 * did not answer usably, as a disk that does not respond. */
	return EIO;
}
