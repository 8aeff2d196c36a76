/* core.spawn: runs a command (credential_process) without a shell.
 *
 * posix_spawnp with stdout and stderr on O_CLOEXEC pipes, both read with
 * poll() against one deadline; on timeout or oversized output the child is
 * killed and reaped. Every resource (pid, fds, buffers, argv) lives in a
 * __gc userdata created before anything is acquired, so a Lua error at any
 * point leaks nothing and leaves no zombie. */
#define _GNU_SOURCE /* pipe2 */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"

extern char **environ;

#define PROCESS_MT "sfn.Process"
#define STDOUT_LIMIT (1024 * 1024)
#define STDERR_LIMIT (64 * 1024)
#define MAX_ARGS 4096

typedef struct stream {
  int fd;
  char *buf;
  size_t len, cap, limit;
  int overflow;
} stream;

typedef struct process {
  pid_t pid;          /* > 0 while the child may still need reaping */
  char **argv;        /* pointers into Lua strings kept on the stack */
  stream out, err;
  int attrs_init, actions_init;
  posix_spawnattr_t attrs;
  posix_spawn_file_actions_t actions;
} process;

static void close_fd(int *fd) {
  if (*fd >= 0) {
    close(*fd);
    *fd = -1;
  }
}

static void reap(process *p, int kill_first) {
  if (p->pid > 0) {
    if (kill_first) kill(p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    p->pid = -1;
  }
}

/* Idempotent: also the __gc. */
static int process_gc(lua_State *L) {
  process *p = luaL_checkudata(L, 1, PROCESS_MT);
  close_fd(&p->out.fd);
  close_fd(&p->err.fd);
  reap(p, 1);
  free(p->out.buf);
  free(p->err.buf);
  p->out.buf = p->err.buf = NULL;
  free(p->argv);
  p->argv = NULL;
  if (p->actions_init) posix_spawn_file_actions_destroy(&p->actions);
  if (p->attrs_init) posix_spawnattr_destroy(&p->attrs);
  p->actions_init = p->attrs_init = 0;
  return 0;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads what is available; returns 0 at EOF (fd closed), 1 otherwise, -1 on
 * out of memory. Output past the limit is drained and flagged. */
static int drain(stream *s) {
  char chunk[16384];
  ssize_t n = read(s->fd, chunk, sizeof chunk);
  if (n < 0) {
    if (errno == EINTR || errno == EAGAIN) return 1;
    close_fd(&s->fd);
    return 0;
  }
  if (n == 0) {
    close_fd(&s->fd);
    return 0;
  }
  if (s->len + (size_t)n > s->limit) {
    s->overflow = 1;
    return 1;
  }
  if (s->len + (size_t)n > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    char *b;
    while (cap < s->len + (size_t)n) cap *= 2;
    b = realloc(s->buf, cap);
    if (b == NULL) return -1;
    s->buf = b;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, chunk, (size_t)n);
  s->len += (size_t)n;
  return 1;
}

/** Runs a command without a shell and collects its output.
 * @function spawn
 * @tparam table argv `{ "cmd", "arg", ... }` (looked up on PATH)
 * @tparam number timeout seconds for the whole run
 * @treturn int exit status (128 + signal number when killed by a signal)
 * @treturn string stdout
 * @treturn string stderr
 * @raise ValidationError (bad arguments), CredentialsError (cannot start,
 *   output too large), TimeoutError (killed after timeout) */
static int l_spawn(lua_State *L) {
  process *p;
  size_t n, i;
  double timeout, deadline;
  int out_pipe[2], err_pipe[2], rc, status = 0, exit_status;
  int oom = 0, timed_out = 0, status_known = 0;
  sigset_t mask;

  /* 1. check every argument */
  if (lua_type(L, 1) != LUA_TTABLE)
    return sfn_error_raisef(L, "ValidationError", "spawn: argv must be a table");
  timeout = luaL_optnumber(L, 2, 60);
  if (!(timeout > 0 && timeout < 86400))
    return sfn_error_raisef(L, "ValidationError", "spawn: timeout must be seconds in (0, 86400)");
  lua_settop(L, 2);
  n = lua_rawlen(L, 1);
  if (n == 0 || n > MAX_ARGS)
    return sfn_error_raisef(L, "ValidationError", "spawn: argv must hold 1..%d strings", MAX_ARGS);
  luaL_checkstack(L, (int)n + 8, "spawn: too many arguments");
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *s;
    lua_rawgeti(L, 1, (lua_Integer)i); /* kept on the stack: argv points in */
    if (lua_type(L, -1) != LUA_TSTRING)
      return sfn_error_raisef(L, "ValidationError", "spawn: argv[%d] must be a string", (int)i);
    s = lua_tolstring(L, -1, &len);
    if (strlen(s) != len)
      return sfn_error_raisef(L, "ValidationError", "spawn: argv[%d] holds a NUL byte", (int)i);
  }

  /* 2. the owner of every resource, before acquiring any */
  p = lua_newuserdata(L, sizeof *p);
  memset(p, 0, sizeof *p);
  p->pid = -1;
  p->out.fd = p->err.fd = -1;
  p->out.limit = STDOUT_LIMIT;
  p->err.limit = STDERR_LIMIT;
  luaL_setmetatable(L, PROCESS_MT);

  p->argv = calloc(n + 1, sizeof *p->argv);
  if (p->argv == NULL) return sfn_error_raisef(L, "CredentialsError", "spawn: out of memory");
  for (i = 0; i < n; i++) p->argv[i] = (char *)lua_tostring(L, 3 + (int)i);

  if (pipe2(out_pipe, O_CLOEXEC) != 0)
    return sfn_error_raisef(L, "CredentialsError", "spawn: pipe failed");
  p->out.fd = out_pipe[0];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[1]); /* the write end is held by a local only: freed by hand */
    return sfn_error_raisef(L, "CredentialsError", "spawn: pipe failed");
  }
  p->err.fd = err_pipe[0];

  rc = posix_spawn_file_actions_init(&p->actions);
  if (rc == 0) {
    p->actions_init = 1;
    rc = posix_spawn_file_actions_adddup2(&p->actions, out_pipe[1], 1);
  }
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&p->actions, err_pipe[1], 2);
  if (rc == 0) {
    rc = posix_spawnattr_init(&p->attrs);
    if (rc == 0) p->attrs_init = 1;
  }
  if (rc == 0) {
    /* the child starts with no blocked signals and default dispositions
     * for the ones a host (nginx, say) is likely to have changed */
    sigemptyset(&mask);
    rc = posix_spawnattr_setsigmask(&p->attrs, &mask);
  }
  if (rc == 0) {
    sigemptyset(&mask);
    sigaddset(&mask, SIGPIPE);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGQUIT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    rc = posix_spawnattr_setsigdefault(&p->attrs, &mask);
  }
  if (rc == 0)
    rc = posix_spawnattr_setflags(&p->attrs, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (rc == 0) rc = posix_spawnp(&p->pid, p->argv[0], &p->actions, &p->attrs, p->argv, environ);
  /* the parent never writes: close the write ends now (locals only) */
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    p->pid = -1;
    return sfn_error_raisef(L, "CredentialsError", "cannot run %s: %s", p->argv[0], strerror(rc));
  }
  fcntl(p->out.fd, F_SETFL, fcntl(p->out.fd, F_GETFL) | O_NONBLOCK);
  fcntl(p->err.fd, F_SETFL, fcntl(p->err.fd, F_GETFL) | O_NONBLOCK);

  /* 3. read both pipes until EOF, overflow or the deadline */
  deadline = now_seconds() + timeout;
  while (p->out.fd >= 0 || p->err.fd >= 0) {
    struct pollfd fds[2];
    int nfds = 0, ready, wait_ms;
    double left = deadline - now_seconds();
    if (left <= 0) {
      timed_out = 1;
      break;
    }
    wait_ms = (int)(left * 1000) + 1;
    if (p->out.fd >= 0) {
      fds[nfds].fd = p->out.fd;
      fds[nfds].events = POLLIN;
      nfds++;
    }
    if (p->err.fd >= 0) {
      fds[nfds].fd = p->err.fd;
      fds[nfds].events = POLLIN;
      nfds++;
    }
    ready = poll(fds, (nfds_t)nfds, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (i = 0; i < (size_t)nfds; i++) {
      stream *s;
      if (fds[i].revents == 0) continue;
      s = fds[i].fd == p->out.fd ? &p->out : &p->err;
      if (drain(s) < 0) oom = 1;
    }
    if (oom || p->out.overflow || p->err.overflow) break;
  }
  close_fd(&p->out.fd);
  close_fd(&p->err.fd);

  /* 4. reap: wait for the exit within the deadline, else kill */
  if (!timed_out && !oom && !p->out.overflow && !p->err.overflow) {
    for (;;) {
      pid_t w = waitpid(p->pid, &status, WNOHANG);
      if (w == p->pid) {
        p->pid = -1;
        status_known = 1;
        break;
      }
      if (w < 0 && errno != EINTR) {
        p->pid = -1;
        break;
      }
      if (now_seconds() >= deadline) {
        timed_out = 1;
        break;
      }
      {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
    }
  }
  if (p->pid > 0) reap(p, 1);

  if (oom) return sfn_error_raisef(L, "CredentialsError", "spawn: out of memory");
  if (timed_out)
    return sfn_error_raisef(L, "TimeoutError", "%s did not finish within %d ms and was killed",
                            p->argv[0], (int)(timeout * 1000 + 0.5));
  if (p->out.overflow || p->err.overflow)
    return sfn_error_raisef(L, "CredentialsError", "%s wrote more than %d bytes to %s and was killed",
                            p->argv[0], p->out.overflow ? STDOUT_LIMIT : STDERR_LIMIT,
                            p->out.overflow ? "stdout" : "stderr");

  if (!status_known)
    exit_status = -1; /* reaped elsewhere (SIGCHLD ignored by the host) */
  else if (WIFEXITED(status))
    exit_status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    exit_status = 128 + WTERMSIG(status);
  else
    exit_status = -1;

  /* 5. results; the userdata still owns the buffers until collected */
  lua_pushinteger(L, exit_status);
  lua_pushlstring(L, p->out.buf ? p->out.buf : "", p->out.len);
  lua_pushlstring(L, p->err.buf ? p->err.buf : "", p->err.len);
  /* free now rather than at the next collection */
  lua_pushcfunction(L, process_gc);
  lua_pushvalue(L, -5);
  lua_call(L, 1, 0);
  return 3;
}

void sfn_process_open(lua_State *L) {
  luaL_newmetatable(L, PROCESS_MT);
  lua_pushcfunction(L, process_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_pushcfunction(L, l_spawn);
  lua_setfield(L, -2, "spawn");
}
