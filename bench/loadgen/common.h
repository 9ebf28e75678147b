// What both load generators (loadgen.c over TCP, udpgen.c over UDP) need alike: dying with a
// message, the monotonic clock, and a process's CPU time. Each includes this once, after
// defining PROGRAM, the name its messages start with.
#pragma once

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void die(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", PROGRAM);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  exit(status);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

// A process's user + system CPU seconds (pid 0: this one), -1 when unknown.
static double cpu_seconds(int pid) {
  char path[64], buf[1024];
  if (pid > 0) snprintf(path, sizeof path, "/proc/%d/stat", pid);
  else snprintf(path, sizeof path, "/proc/self/stat");
  FILE *f = fopen(path, "r");
  if (f == NULL) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (p == NULL) return -1;
  unsigned long ut = 0, st = 0;
  // after the command: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
