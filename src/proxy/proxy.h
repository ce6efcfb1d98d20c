/* The Policy Enforcement Point's engine: listeners, one libuv event loop per core, client and
 * upstream connections, reload and drain. `ztgate serve` is zt_proxy_serve(). */
#ifndef ZT_PROXY_PROXY_H
#define ZT_PROXY_PROXY_H

/* Runs until SIGTERM/SIGINT; returns the process exit status. Refuses to start on a bad config
 * (errors printed as FILE:LINE:COL: message). */
int zt_proxy_serve(const char *config_path);

#endif
