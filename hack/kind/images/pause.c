/* The pod sandbox's process: holds the pod's namespaces, reaps orphaned
 * children and exits on SIGINT or SIGTERM. Built static by
 * hack/kind/build-node-image.sh because no pause image can be pulled. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction stopping = {.sa_handler = stop};
  struct sigaction reaping = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP};
  sigaction(SIGINT, &stopping, NULL);
  sigaction(SIGTERM, &stopping, NULL);
  sigaction(SIGCHLD, &reaping, NULL);
  for (;;) pause();
  return 0;
}
