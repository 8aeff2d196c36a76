/* core.read_file: the one reader of every local file sfn opens itself (the
 * shared config and credentials files, web identity and container token
 * files).
 *
 * A file someone else controls may be a FIFO (open blocks until a writer
 * comes), a device (/dev/zero never ends), a directory or a socket, or just
 * huge. So: stat first and refuse anything that is not a regular file
 * without opening it (opening some devices has side effects), then open
 * with O_NONBLOCK | O_NOCTTY | O_CLOEXEC (the path may have been swapped for
 * a FIFO since), fstat the descriptor and refuse again, and read at most
 * max_bytes. Messages name the file and the reason, never its contents. The
 * descriptor lives in a __gc userdata created before it is opened. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "errors.h"

#define FILE_MT "sfn.File"
/* The largest cap a caller may ask for. */
#define MAX_CAP (1024 * 1024 * 1024)
/* How much of a path a message shows. */
#define SHOWN_PATH 256

typedef struct file_handle {
  int fd;
} file_handle;

static void close_handle(file_handle *h) {
  if (h->fd >= 0) {
    close(h->fd);
    h->fd = -1;
  }
}

/* Idempotent: the reader also closes by hand once done. */
static int file_gc(lua_State *L) {
  close_handle(luaL_checkudata(L, 1, FILE_MT));
  return 0;
}

/* The path as a message shows it: at most SHOWN_PATH bytes, control
 * characters as '?'. */
static void shown_path(char *out, size_t outsz, const char *path, size_t len) {
  size_t i, n = len < outsz - 4 ? len : outsz - 4;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)path[i];
    out[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  if (n < len) {
    memcpy(out + n, "...", 3);
    n += 3;
  }
  out[n] = '\0';
}

static const char *kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

/* nil, message, kind */
static int fail(lua_State *L, const char *kind, const char *fmt, const char *shown,
                const char *detail) {
  lua_pushnil(L);
  lua_pushfstring(L, fmt, shown, detail);
  lua_pushstring(L, kind);
  return 3;
}

static int too_large(lua_State *L, const char *shown, size_t cap) {
  lua_pushnil(L);
  lua_pushfstring(L, "%s is larger than %d bytes: refused", shown, (int)cap);
  lua_pushliteral(L, "too_large");
  return 3;
}

static int refuse_type(lua_State *L, const char *shown, mode_t mode) {
  return fail(L, "not_regular", "%s is %s, not a regular file: refused", shown, kind_of(mode));
}

static int open_failed(lua_State *L, const char *shown, int err) {
  const char *kind = (err == ENOENT || err == ENOTDIR) ? "missing" : "unreadable";
  return fail(L, kind, "cannot open %s: %s", shown, strerror(err));
}

/** Reads a whole regular file, up to a size cap.
 * @function read_file
 * @tparam string path
 * @tparam integer max_bytes the largest size accepted (1 .. 2^30)
 * @treturn[1] string the contents
 * @treturn[2] nil
 * @treturn[2] string a message naming the file and the reason
 * @treturn[2] string the kind of failure: "missing" (no such file),
 *   "not_regular" (a directory, FIFO, device or socket), "too_large",
 *   "unreadable" (permissions, I/O error)
 * @raise ValidationError on bad arguments */
static int l_read_file(lua_State *L) {
  size_t len, total = 0, cap;
  const char *path;
  double max;
  char shown[SHOWN_PATH + 4];
  struct stat st;
  file_handle *h;
  luaL_Buffer b;

  /* 1. arguments */
  if (lua_type(L, 1) != LUA_TSTRING)
    return sfn_error_raisef(L, "ValidationError", "read_file: path must be a string");
  path = lua_tolstring(L, 1, &len);
  if (len == 0 || strlen(path) != len)
    return sfn_error_raisef(L, "ValidationError", "read_file: path must be non-empty and hold no NUL byte");
  if (lua_type(L, 2) != LUA_TNUMBER)
    return sfn_error_raisef(L, "ValidationError", "read_file: max_bytes must be a number");
  max = lua_tonumber(L, 2);
  if (!(max >= 1 && max <= MAX_CAP) || floor(max) != max)
    return sfn_error_raisef(L, "ValidationError", "read_file: max_bytes must be an integer in 1..%d",
                            MAX_CAP);
  cap = (size_t)max;
  lua_settop(L, 2);
  shown_path(shown, sizeof shown, path, len);

  /* 2. what is it? Refuse without opening what is not a regular file. */
  if (stat(path, &st) != 0) return open_failed(L, shown, errno);
  if (!S_ISREG(st.st_mode)) return refuse_type(L, shown, st.st_mode);
  if ((unsigned long long)st.st_size > (unsigned long long)cap)
    return too_large(L, shown, cap);

  /* 3. the owner of the descriptor, then the descriptor */
  h = lua_newuserdata(L, sizeof *h);
  h->fd = -1;
  luaL_setmetatable(L, FILE_MT);
  do {
    h->fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  } while (h->fd < 0 && errno == EINTR);
  if (h->fd < 0) return open_failed(L, shown, errno);
  if (fstat(h->fd, &st) != 0) {
    int err = errno;
    close_handle(h);
    return fail(L, "unreadable", "cannot read %s: %s", shown, strerror(err));
  }
  if (!S_ISREG(st.st_mode)) { /* swapped for something else since the stat */
    close_handle(h);
    return refuse_type(L, shown, st.st_mode);
  }

  /* 4. read up to cap + 1 bytes: one more than the cap tells "too large" */
  luaL_buffinit(L, &b);
  for (;;) {
    size_t want = cap + 1 - total;
    ssize_t n;
    char *p;
    if (want == 0) break;
    if (want > LUAL_BUFFERSIZE) want = LUAL_BUFFERSIZE;
    p = luaL_prepbuffer(&b);
    n = read(h->fd, p, want);
    if (n < 0) {
      int err = errno;
      if (err == EINTR) continue;
      /* the buffer is abandoned: its stack slots are left below the results */
      close_handle(h);
      return fail(L, "unreadable", "cannot read %s: %s", shown, strerror(err));
    }
    if (n == 0) break;
    luaL_addsize(&b, (size_t)n);
    total += (size_t)n;
  }
  luaL_pushresult(&b);
  close_handle(h); /* now rather than at the next collection */
  if (total > cap)
    return too_large(L, shown, cap);
  return 1;
}

/** What a path is, without opening it (stat follows symlinks): for paths
 * another library opens (libcurl's CA bundle), to refuse a FIFO or device
 * before it is handed over.
 * @function file_type
 * @tparam string path
 * @treturn[1] string "file", "directory", "fifo", "character device",
 *   "block device", "socket" or "other"
 * @treturn[2] nil
 * @treturn[2] string a message naming the path
 * @treturn[2] string "missing" or "unreadable"
 * @raise ValidationError on a bad path */
static int l_file_type(lua_State *L) {
  size_t len;
  const char *path;
  char shown[SHOWN_PATH + 4];
  struct stat st;
  if (lua_type(L, 1) != LUA_TSTRING)
    return sfn_error_raisef(L, "ValidationError", "file_type: path must be a string");
  path = lua_tolstring(L, 1, &len);
  if (len == 0 || strlen(path) != len)
    return sfn_error_raisef(L, "ValidationError", "file_type: path must be non-empty and hold no NUL byte");
  if (stat(path, &st) != 0) {
    shown_path(shown, sizeof shown, path, len);
    return open_failed(L, shown, errno);
  }
  if (S_ISREG(st.st_mode)) lua_pushliteral(L, "file");
  else if (S_ISDIR(st.st_mode)) lua_pushliteral(L, "directory");
  else if (S_ISFIFO(st.st_mode)) lua_pushliteral(L, "fifo");
  else if (S_ISCHR(st.st_mode)) lua_pushliteral(L, "character device");
  else if (S_ISBLK(st.st_mode)) lua_pushliteral(L, "block device");
  else if (S_ISSOCK(st.st_mode)) lua_pushliteral(L, "socket");
  else lua_pushliteral(L, "other");
  return 1;
}

/* Owner of a temporary file being written: closed and unlinked unless the
 * rename took it. */
typedef struct temp_file {
  int fd;
  char path[4096 + 16];
} temp_file;

#define TEMP_MT "sfn.TempFile"

static void drop_temp(temp_file *t) {
  if (t->fd >= 0) {
    close(t->fd);
    t->fd = -1;
  }
  if (t->path[0] != '\0') {
    unlink(t->path);
    t->path[0] = '\0';
  }
}

static int temp_gc(lua_State *L) {
  drop_temp(luaL_checkudata(L, 1, TEMP_MT));
  return 0;
}

/** Replaces a file atomically, as botocore's JSONFileCache and the AWS CLI
 * do: a temporary file in the same directory (mode 0600), written, fsynced,
 * then renamed over the target. The target's directory must exist.
 * @function write_file_atomic
 * @tparam string path
 * @tparam string data
 * @treturn[1] true
 * @treturn[2] nil
 * @treturn[2] string a message naming the file and the reason (never the data)
 * @raise ValidationError on bad arguments */
static int l_write_file_atomic(lua_State *L) {
  size_t len, dlen, done = 0;
  const char *path, *data;
  char shown[SHOWN_PATH + 4];
  temp_file *t;
  int err;

  if (lua_type(L, 1) != LUA_TSTRING || lua_type(L, 2) != LUA_TSTRING)
    return sfn_error_raisef(L, "ValidationError", "write_file_atomic: path and data must be strings");
  path = lua_tolstring(L, 1, &len);
  data = lua_tolstring(L, 2, &dlen);
  if (len == 0 || strlen(path) != len || len > 4096)
    return sfn_error_raisef(L, "ValidationError",
                            "write_file_atomic: path must be 1..4096 bytes and hold no NUL byte");
  shown_path(shown, sizeof shown, path, len);

  t = lua_newuserdata(L, sizeof *t);
  t->fd = -1;
  t->path[0] = '\0';
  luaL_setmetatable(L, TEMP_MT);
  memcpy(t->path, path, len);
  memcpy(t->path + len, ".XXXXXX.tmp", 12);
  t->fd = mkstemps(t->path, 4); /* mode 0600 */
  if (t->fd < 0) {
    err = errno;
    t->path[0] = '\0';
    return fail(L, "unwritable", "cannot create a temporary file next to %s: %s", shown, strerror(err));
  }
  while (done < dlen) {
    ssize_t n = write(t->fd, data + done, dlen - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      drop_temp(t);
      return fail(L, "unwritable", "cannot write %s: %s", shown, strerror(err));
    }
    done += (size_t)n;
  }
  if (fsync(t->fd) != 0 || close(t->fd) != 0) {
    err = errno;
    t->fd = -1;
    drop_temp(t);
    return fail(L, "unwritable", "cannot write %s: %s", shown, strerror(err));
  }
  t->fd = -1;
  if (rename(t->path, path) != 0) {
    err = errno;
    drop_temp(t);
    return fail(L, "unwritable", "cannot replace %s: %s", shown, strerror(err));
  }
  t->path[0] = '\0';
  lua_pushboolean(L, 1);
  return 1;
}

/** Creates a directory and its missing parents (mode 0700 for the ones it
 * makes), as os.makedirs(exist_ok=True).
 * @function mkdir_p
 * @tparam string path
 * @treturn[1] true
 * @treturn[2] nil
 * @treturn[2] string a message naming the directory
 * @raise ValidationError on bad arguments */
static int l_mkdir_p(lua_State *L) {
  size_t len, i;
  const char *path;
  char buf[4096 + 1], shown[SHOWN_PATH + 4];
  struct stat st;

  if (lua_type(L, 1) != LUA_TSTRING)
    return sfn_error_raisef(L, "ValidationError", "mkdir_p: path must be a string");
  path = lua_tolstring(L, 1, &len);
  if (len == 0 || strlen(path) != len || len > 4096)
    return sfn_error_raisef(L, "ValidationError", "mkdir_p: path must be 1..4096 bytes and hold no NUL byte");
  memcpy(buf, path, len + 1);
  for (i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    buf[i] = '\0';
    if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
      int err = errno;
      shown_path(shown, sizeof shown, buf, i);
      return fail(L, "unwritable", "cannot create the directory %s: %s", shown, strerror(err));
    }
    if (i < len) buf[i] = '/';
  }
  if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
    shown_path(shown, sizeof shown, path, len);
    return fail(L, "unwritable", "%s is not a directory%s", shown, "");
  }
  lua_pushboolean(L, 1);
  return 1;
}

void sfn_files_open(lua_State *L) {
  luaL_newmetatable(L, TEMP_MT);
  lua_pushcfunction(L, temp_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_write_file_atomic);
  lua_setfield(L, -2, "write_file_atomic");
  lua_pushcfunction(L, l_mkdir_p);
  lua_setfield(L, -2, "mkdir_p");
  luaL_newmetatable(L, FILE_MT);
  lua_pushcfunction(L, file_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_read_file);
  lua_setfield(L, -2, "read_file");
  lua_pushcfunction(L, l_file_type);
  lua_setfield(L, -2, "file_type");
}
