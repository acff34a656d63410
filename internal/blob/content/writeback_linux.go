package content

import (
	"os"
	"syscall"
)

// startWriteback asks the kernel to start writing a range of f to disk
// without waiting (sync_file_range(2) with SYNC_FILE_RANGE_WRITE). It is
// only a head start for the fsync that follows; errors surface there.
func startWriteback(f *os.File, off, n int64) {
	const syncFileRangeWrite = 0x2
	_ = syscall.SyncFileRange(int(f.Fd()), off, n, syncFileRangeWrite)
}
