/*
 * powercut: an LD_PRELOAD library that makes a process's files behave as if only fsync reached the disk.
 *
 * Every regular file the process opens under $POWERCUT_DIR (except SQLite's -shm files, which SQLite maps into
 * memory and rebuilds after a crash: not durable data) is held in memory: writes and truncations change the
 * in-memory image only, reads and fstat see the image, and fsync/fdatasync write the changed pages to the real
 * file and fsync it. Killing the process (SIGKILL) therefore loses exactly what it wrote and did not fsync, as a
 * power cut does; the page cache, which a SIGKILL would leave intact, never holds those writes.
 *
 * The calls covered are those SQLite's unix VFS makes on a database, WAL or rollback-journal file (the e_sqlite3
 * library that Microsoft.Data.Sqlite loads imports open64, close, read, write, pread64, pwrite64, fsync,
 * ftruncate64, __fxstat64, mmap64, unlink; `nm -D libe_sqlite3.so`), with their other glibc names (open,
 * openat, pread, pwrite, lseek, fdatasync, fstat, ...) so that nothing bypasses the image. mmap of a covered file
 * is refused (ENODEV, which SQLite answers by reading instead; it only maps databases when mmap_size > 0).
 *
 * $POWERCUT_LOG, if set, names a file that gets a line per covered open, per fsync and per refused mmap.
 * The model is the harshest legal outcome of a power cut: every unsynced write is lost, none is torn, and a
 * file created or deleted stays so (directory entries are not simulated).
 *
 * Build: cc -shared -fPIC -O2 -U_FORTIFY_SOURCE -o libpowercut.so powercut.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#define PAGE 4096
#define MAX_FDS 65536

/* One covered file (an inode): its current contents as the process sees them, and which pages differ from disk. */
struct image {
    dev_t dev;
    ino_t ino;
    char path[PATH_MAX];
    unsigned char *data; /* size bytes of contents, cap allocated (zeroed beyond size) */
    size_t size, cap;
    unsigned char *dirty; /* one byte per page: changed since the last fsync */
    size_t dirty_pages;   /* allocated entries of dirty */
    size_t lowest_size;   /* the smallest size since the last fsync: what to truncate the real file to first */
    int linked;           /* still reachable by path (not unlinked) */
    struct image *next;
};

/* One covered descriptor. */
struct handle {
    struct image *image;
    off_t pos;
    int append;
};

static struct handle *handles[MAX_FDS];
static struct image *images;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char dir[PATH_MAX];
static size_t dir_len;
static int log_fd = -1;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_close)(int);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static off_t (*real_lseek)(int, off_t, int);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_ftruncate)(int, off_t);
static int (*real_fstat64)(int, struct stat64 *);
static int (*real_fxstat64)(int, int, struct stat64 *);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);

static void *next_symbol(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        static const char msg[] = "powercut: a libc function is missing: ";
        (void)syscall(SYS_write, 2, msg, sizeof msg - 1);
        (void)syscall(SYS_write, 2, name, strlen(name));
        (void)syscall(SYS_write, 2, "\n", 1);
        abort();
    }
    return f;
}

static void init(void)
{
    real_open = next_symbol("open64");
    real_openat = next_symbol("openat64");
    real_close = next_symbol("close");
    real_read = next_symbol("read");
    real_write = next_symbol("write");
    real_pread = next_symbol("pread64");
    real_pwrite = next_symbol("pwrite64");
    real_lseek = next_symbol("lseek64");
    real_fsync = next_symbol("fsync");
    real_fdatasync = next_symbol("fdatasync");
    real_ftruncate = next_symbol("ftruncate64");
    real_unlink = next_symbol("unlink");
    real_unlinkat = next_symbol("unlinkat");
    real_mmap = next_symbol("mmap64");
    /* glibc >= 2.33 has fstat64 as a function; older ones only __fxstat64 (which newer ones keep for old binaries,
       such as e_sqlite3, under a version of its own). */
    real_fstat64 = dlsym(RTLD_NEXT, "fstat64");
    real_fxstat64 = dlsym(RTLD_NEXT, "__fxstat64");
#if defined(__x86_64__)
    if (!real_fxstat64) real_fxstat64 = dlvsym(RTLD_NEXT, "__fxstat64", "GLIBC_2.2.5");
#elif defined(__aarch64__)
    if (!real_fxstat64) real_fxstat64 = dlvsym(RTLD_NEXT, "__fxstat64", "GLIBC_2.17");
#endif

    const char *d = getenv("POWERCUT_DIR");
    if (d && *d) {
        char resolved[PATH_MAX];
        /* SQLite opens files by their full path with symbolic links resolved: compare with the same. */
        if (!realpath(d, resolved)) snprintf(resolved, sizeof resolved, "%s", d);
        snprintf(dir, sizeof dir, "%s", resolved);
        dir_len = strlen(dir);
        while (dir_len > 1 && dir[dir_len - 1] == '/') dir[--dir_len] = 0;
    }
    const char *l = getenv("POWERCUT_LOG");
    if (l && *l) log_fd = real_open(l, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

#define INIT() pthread_once(&once, init)

static void note(const char *fmt, ...)
{
    if (log_fd < 0) return;
    char line[PATH_MAX + 256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = sizeof line - 2;
    line[n++] = '\n';
    (void)real_write(log_fd, line, (size_t)n);
}

static int covered_path(const char *path)
{
    if (!dir_len || !path || path[0] != '/') return 0;
    if (strncmp(path, dir, dir_len) != 0 || path[dir_len] != '/') return 0;
    size_t n = strlen(path);
    return !(n >= 4 && strcmp(path + n - 4, "-shm") == 0);
}

static struct handle *handle_of(int fd)
{
    if (fd < 0 || fd >= MAX_FDS) return NULL;
    return __atomic_load_n(&handles[fd], __ATOMIC_ACQUIRE);
}

static int stat_fd(int fd, struct stat64 *st)
{
    if (real_fstat64) return real_fstat64(fd, st);
    if (real_fxstat64) return real_fxstat64(1, fd, st);
    return (int)syscall(SYS_fstat, fd, st);
}

/* Grows the image to hold n bytes (new bytes zero) and its dirty map to cover them. Caller holds the lock. */
static int reserve(struct image *im, size_t n)
{
    if (n > im->cap) {
        size_t cap = im->cap ? im->cap : PAGE;
        while (cap < n) cap *= 2;
        unsigned char *data = realloc(im->data, cap);
        if (!data) return -1;
        memset(data + im->cap, 0, cap - im->cap);
        im->data = data;
        im->cap = cap;
    }
    size_t pages = (im->cap + PAGE - 1) / PAGE;
    if (pages > im->dirty_pages) {
        unsigned char *dirty = realloc(im->dirty, pages);
        if (!dirty) return -1;
        memset(dirty + im->dirty_pages, 0, pages - im->dirty_pages);
        im->dirty = dirty;
        im->dirty_pages = pages;
    }
    return 0;
}

/* The image of the file open on fd, read from disk the first time the inode is seen. Caller holds the lock. */
static struct image *image_for(int fd, const char *path)
{
    struct stat64 st;
    if (stat_fd(fd, &st) != 0 || !S_ISREG(st.st_mode)) return NULL;
    for (struct image *im = images; im; im = im->next)
        if (im->linked && im->dev == st.st_dev && im->ino == st.st_ino) return im;
    struct image *im = calloc(1, sizeof *im);
    if (!im) return NULL;
    im->dev = st.st_dev;
    im->ino = st.st_ino;
    im->linked = 1;
    snprintf(im->path, sizeof im->path, "%s", path);
    size_t size = (size_t)st.st_size;
    if (reserve(im, size ? size : 1) != 0) {
        free(im);
        return NULL;
    }
    size_t done = 0;
    while (done < size) {
        ssize_t r = real_pread(fd, im->data + done, size - done, (off_t)done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        done += (size_t)r;
    }
    im->size = done;
    im->lowest_size = done;
    im->next = images;
    images = im;
    return im;
}

static void mark(struct image *im, size_t from, size_t to)
{
    for (size_t p = from / PAGE; p * PAGE < to; p++) im->dirty[p] = 1;
}

static void resize(struct image *im, size_t size)
{
    if (size < im->size) {
        memset(im->data + size, 0, im->size - size);
        if (size < im->lowest_size) im->lowest_size = size;
    }
    im->size = size;
}

static ssize_t image_write(struct image *im, const void *buf, size_t n, size_t off)
{
    if (n == 0) return 0;
    if (reserve(im, off + n) != 0) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(im->data + off, buf, n);
    if (off + n > im->size) im->size = off + n;
    mark(im, off, off + n);
    return (ssize_t)n;
}

static ssize_t image_read(struct image *im, void *buf, size_t n, size_t off)
{
    if (off >= im->size) return 0;
    if (n > im->size - off) n = im->size - off;
    memcpy(buf, im->data + off, n);
    return (ssize_t)n;
}

/* fsync: the real file becomes the image (first cut to the smallest size it had, so that a shrink followed by a
   growth reads zeros), then is fsynced. Caller holds the lock. */
static int image_sync(struct image *im, int fd, int data_only)
{
    size_t written = 0;
    struct stat64 st;
    if (stat_fd(fd, &st) != 0) return -1;
    if ((size_t)st.st_size > im->lowest_size && real_ftruncate(fd, (off_t)im->lowest_size) != 0) return -1;
    size_t pages = (im->size + PAGE - 1) / PAGE;
    for (size_t p = 0; p < pages && p < im->dirty_pages; p++) {
        if (!im->dirty[p]) continue;
        size_t end = p;
        while (end < pages && im->dirty[end]) end++;
        size_t from = p * PAGE, to = end * PAGE < im->size ? end * PAGE : im->size;
        while (from < to) {
            ssize_t w = real_pwrite(fd, im->data + from, to - from, (off_t)from);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return -1;
            from += (size_t)w;
            written += (size_t)w;
        }
        p = end - 1;
    }
    memset(im->dirty, 0, im->dirty_pages);
    if (stat_fd(fd, &st) != 0) return -1;
    if ((size_t)st.st_size != im->size && real_ftruncate(fd, (off_t)im->size) != 0) return -1;
    im->lowest_size = im->size;
    int rc = data_only ? real_fdatasync(fd) : real_fsync(fd);
    note("sync %s %zu %zu", im->path, written, im->size);
    return rc;
}

static int after_open(int fd, const char *path, int flags)
{
    if (fd < 0 || !covered_path(path)) return fd;
    if (fd >= MAX_FDS) {
        note("error %s fd %d beyond the table", path, fd);
        abort();
    }
    pthread_mutex_lock(&lock);
    struct image *im = image_for(fd, path);
    if (im) {
        struct handle *h = calloc(1, sizeof *h);
        if (!h) abort();
        h->image = im;
        h->append = (flags & O_APPEND) != 0;
        if (flags & O_TRUNC) resize(im, 0);
        __atomic_store_n(&handles[fd], h, __ATOMIC_RELEASE);
        note("open %s %zu", path, im->size);
    }
    pthread_mutex_unlock(&lock);
    return fd;
}

static int needs_mode(int flags) { return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE; }

static int do_open(const char *path, int flags, mode_t mode)
{
    INIT();
    /* The truncation of a covered file is the image's, until fsync. */
    int real_flags = covered_path(path) ? flags & ~O_TRUNC : flags;
    return after_open(real_open(path, real_flags, mode), path, flags);
}

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    INIT();
    if (path && path[0] != '/') return real_openat(dirfd, path, flags, mode); /* SQLite opens by full path */
    int real_flags = covered_path(path) ? flags & ~O_TRUNC : flags;
    return after_open(real_openat(dirfd, path, real_flags, mode), path, flags);
}

#define MODE_ARG(flags) \
    mode_t mode = 0; \
    if (needs_mode(flags)) { \
        va_list ap; \
        va_start(ap, flags); \
        mode = (mode_t)va_arg(ap, int); \
        va_end(ap); \
    }

int open(const char *path, int flags, ...) { MODE_ARG(flags); return do_open(path, flags, mode); }
int open64(const char *path, int flags, ...) { MODE_ARG(flags); return do_open(path, flags, mode); }
int openat(int dirfd, const char *path, int flags, ...) { MODE_ARG(flags); return do_openat(dirfd, path, flags, mode); }
int openat64(int dirfd, const char *path, int flags, ...) { MODE_ARG(flags); return do_openat(dirfd, path, flags, mode); }

int close(int fd)
{
    INIT();
    struct handle *h = handle_of(fd);
    if (h) {
        pthread_mutex_lock(&lock);
        __atomic_store_n(&handles[fd], NULL, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&lock);
        free(h); /* the image stays: unsynced writes outlive a close, as in the page cache */
    }
    return real_close(fd);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    INIT();
    struct handle *h = handle_of(fd);
    if (!h) return real_pread(fd, buf, n, off);
    if (off < 0) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&lock);
    ssize_t r = image_read(h->image, buf, n, (size_t)off);
    pthread_mutex_unlock(&lock);
    return r;
}

ssize_t pread(int fd, void *buf, size_t n, off_t off) { return pread64(fd, buf, n, off); }

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    INIT();
    struct handle *h = handle_of(fd);
    if (!h) return real_pwrite(fd, buf, n, off);
    if (off < 0) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&lock);
    ssize_t r = image_write(h->image, buf, n, (size_t)off);
    pthread_mutex_unlock(&lock);
    return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { return pwrite64(fd, buf, n, off); }

ssize_t read(int fd, void *buf, size_t n)
{
    INIT();
    struct handle *h = handle_of(fd);
    if (!h) return real_read(fd, buf, n);
    pthread_mutex_lock(&lock);
    ssize_t r = image_read(h->image, buf, n, (size_t)h->pos);
    if (r > 0) h->pos += r;
    pthread_mutex_unlock(&lock);
    return r;
}

ssize_t write(int fd, const void *buf, size_t n)
{
    INIT();
    struct handle *h = handle_of(fd);
    if (!h) return real_write(fd, buf, n);
    pthread_mutex_lock(&lock);
    if (h->append) h->pos = (off_t)h->image->size;
    ssize_t r = image_write(h->image, buf, n, (size_t)h->pos);
    if (r > 0) h->pos += r;
    pthread_mutex_unlock(&lock);
    return r;
}

off_t lseek64(int fd, off_t off, int whence)
{
    INIT();
    struct handle *h = handle_of(fd);
    if (!h) return real_lseek(fd, off, whence);
    pthread_mutex_lock(&lock);
    off_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? h->pos : whence == SEEK_END ? (off_t)h->image->size : -1;
    off_t pos = base < 0 ? -1 : base + off;
    if (pos >= 0) h->pos = pos;
    pthread_mutex_unlock(&lock);
    if (pos < 0) errno = EINVAL;
    return pos;
}

off_t lseek(int fd, off_t off, int whence) { return lseek64(fd, off, whence); }

static int do_sync(int fd, int data_only)
{
    INIT();
    struct handle *h = handle_of(fd);
    if (!h) return data_only ? real_fdatasync(fd) : real_fsync(fd);
    pthread_mutex_lock(&lock);
    int rc = image_sync(h->image, fd, data_only);
    pthread_mutex_unlock(&lock);
    return rc;
}

int fsync(int fd) { return do_sync(fd, 0); }
int fdatasync(int fd) { return do_sync(fd, 1); }

int ftruncate64(int fd, off_t len)
{
    INIT();
    struct handle *h = handle_of(fd);
    if (!h) return real_ftruncate(fd, len);
    if (len < 0) {
        errno = EINVAL;
        return -1;
    }
    pthread_mutex_lock(&lock);
    int rc = reserve(h->image, (size_t)len + 1);
    if (rc == 0) resize(h->image, (size_t)len);
    pthread_mutex_unlock(&lock);
    if (rc != 0) errno = ENOMEM;
    return rc;
}

int ftruncate(int fd, off_t len) { return ftruncate64(fd, len); }

/* fstat under all of glibc's names: the real inode, with the image's size. */
static void patch_size(int fd, struct stat64 *st)
{
    struct handle *h = handle_of(fd);
    if (!h) return;
    pthread_mutex_lock(&lock);
    st->st_size = (off_t)h->image->size;
    st->st_blocks = (blkcnt_t)((h->image->size + 511) / 512);
    pthread_mutex_unlock(&lock);
}

int fstat64(int fd, struct stat64 *st)
{
    INIT();
    int rc = stat_fd(fd, st);
    if (rc == 0) patch_size(fd, st);
    return rc;
}

int fstat(int fd, struct stat *st)
{
    /* On the 64-bit Linux ABIs this library is built for, struct stat and struct stat64 are the same. */
    _Static_assert(sizeof(struct stat) == sizeof(struct stat64), "struct stat differs from struct stat64");
    return fstat64(fd, (struct stat64 *)st);
}

int __fxstat64(int ver, int fd, struct stat64 *st)
{
    INIT();
    int rc = real_fxstat64 ? real_fxstat64(ver, fd, st) : stat_fd(fd, st);
    if (rc == 0) patch_size(fd, st);
    return rc;
}

int __fxstat(int ver, int fd, struct stat *st) { return __fxstat64(ver, fd, (struct stat64 *)st); }

/* A deleted file's image no longer belongs to its path: a new file there (even on the same inode) starts afresh. */
static void forget(const char *path)
{
    if (!covered_path(path)) return;
    pthread_mutex_lock(&lock);
    for (struct image *im = images; im; im = im->next)
        if (im->linked && strcmp(im->path, path) == 0) im->linked = 0;
    pthread_mutex_unlock(&lock);
}

int unlink(const char *path)
{
    INIT();
    int rc = real_unlink(path);
    if (rc == 0) forget(path);
    return rc;
}

int unlinkat(int dirfd, const char *path, int flags)
{
    INIT();
    int rc = real_unlinkat(dirfd, path, flags);
    if (rc == 0 && path[0] == '/') forget(path);
    return rc;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    INIT();
    if (!(flags & MAP_ANONYMOUS) && handle_of(fd)) {
        note("mmap refused %d", fd);
        errno = ENODEV;
        return MAP_FAILED;
    }
    return real_mmap(addr, len, prot, flags, fd, off);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) { return mmap64(addr, len, prot, flags, fd, off); }
