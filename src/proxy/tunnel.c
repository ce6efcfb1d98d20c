/* Tunnels: CONNECT host:port on a TLS listener, from `ztagent tunnel`, to a kind tcp app.
 * Foundation stub: every CONNECT is refused (fail closed) until the tunnel server lands. */
#include "proxy/proxy_int.h"

void zt_tunnel_dispatch(zt_conn *c)
{
    zt_conn_respond_page(c, 403, MSG_BLOCKED_TITLE, MSG_BLOCKED_BODY,
                         "ztgate is not an open proxy");
}

void zt_tunnel_connected(zt_conn *c)
{
    zt_conn_close(c);
}
