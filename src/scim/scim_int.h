/* Internal to src/scim: one SCIM call in flight, shared by scim.c (routing, answers, audit),
 * users.c and groups.c (resources) and resource.c (what those two share). Not an API for
 * other modules. */
#ifndef ZT_SCIM_INT_H
#define ZT_SCIM_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "scim/scim.h"
#include "session/account.h"
#include "store/store.h"

#define ZT_SCIM_SOURCE "scim" /* users.source / groups.source of what SCIM made */
#define ZT_SCIM_SEG_MAX 255
#define ZT_SCIM_DEFAULT_COUNT 100

typedef struct zt_scim_query {
    char *filter;     /* decoded; NULL = none */
    long start_index; /* 1-based */
    long count;       /* -1 = not given */
    char *attributes; /* attributes=a,b (decoded); NULL = all */
    char *excluded;   /* excludedAttributes=members,... (Entra's group queries); NULL = none */
} zt_scim_query;

typedef struct zt_scim_call {
    zt_local_req *r;
    const char *action;           /* "scim.user.create" (static) */
    char id[ZT_SCIM_SEG_MAX + 1]; /* decoded {id}; "" when none */
    zt_scim_query q;
    json_t *body; /* parsed request body or NULL */
    char user_id[ZT_STORE_ID_LEN + 1];
    char user_email[ZT_STORE_EMAIL_MAX + 1];
    char group[ZT_STORE_GROUP_MAX + 1];
    char change[256];
    char actor[48]; /* "scim:" + token fingerprint */
} zt_scim_call;

/* Answer: audit the call, send status with body (stolen; NULL = none) as application/scim+json,
 * plus an ETag header when etag is non-NULL and a Location header when location is. Frees c. */
void zt_scim_finish(zt_scim_call *c, int status, json_t *body, const char *etag,
                    const char *location);
/* Answer with a SCIM Error body. */
void zt_scim_finish_error(zt_scim_call *c, const zt_scim_error *err);
void zt_scim_refuse(zt_scim_call *c, int status, const char *scim_type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A store / account errno as a SCIM error about `what`. */
void zt_scim_store_fail(zt_scim_call *c, int rc, const char *what);
/* After an account operation: false (and the call finished with 500) when gateways could not
 * be told; a record that could not be queued is logged. */
bool zt_scim_account_done(zt_scim_call *c, const zt_account_result *res);

zt_account_env zt_scim_account_env(zt_scim_call *c);
void zt_scim_actor(zt_scim_call *c, zt_actor *who);

/* "https://host/scim/v2/Users/ID" (malloc'd) for meta.location and Location. */
char *zt_scim_location(zt_scim_call *c, const char *type, const char *id);
/* meta {resourceType, created, lastModified, location, version}; computes the weak ETag over
 * the resource without meta and writes it to etag_out (W/"hex"). */
int zt_scim_set_meta(zt_scim_call *c, json_t *res, const char *type, const char *id,
                     int64_t created, int64_t modified, char etag_out[40]);
/* If-Match on a change: false (and the call finished with 412) when it names another
 * version. If-None-Match on a read: true when it names this one (the caller answers 304). */
bool zt_scim_if_match_ok(zt_scim_call *c, const char *etag);
bool zt_scim_if_none_match_hit(const zt_scim_call *c, const char *etag);
/* §3.9: keep only the top-level attributes `attributes` names (id, schemas and meta always
 * stay) and drop those `excludedAttributes` names. A sub-attribute path keeps or drops its
 * whole attribute. */
void zt_scim_project(json_t *res, const zt_scim_query *q);
/* ListResponse over resources (stolen), with totalResults and the page's startIndex. */
json_t *zt_scim_list_response(json_t *resources, size_t total, long start_index);

/* ---- one resource type (resource.c runs what Users and Groups share) ---- */

/* One stored resource of either type, as the store gives it. */
typedef union zt_scim_item {
    zt_user user;
    zt_store_group group;
} zt_scim_item;

typedef struct zt_scim_kind {
    const char *type;          /* "Users": the path segment, in 405 details and Location */
    const char *what;          /* "user": in error details */
    const char *get_action;    /* audit action of GET /{type}/{id} */
    const char *delete_action; /* and of DELETE */
    const char *deleted;       /* the audit record's change after a DELETE */
    /* The resource c->id names, noted in c for the record; -ENOENT also for one SCIM does not
     * own. */
    int (*find)(zt_scim_call *c, zt_scim_item *it);
    /* The resource with this id, whoever owns it (to answer after a change). */
    int (*fetch)(zt_scim_call *c, const char *id, zt_scim_item *it);
    /* The whole resource with meta; its version to etag. NULL when out of memory. */
    json_t *(*to_json)(zt_scim_call *c, const zt_scim_item *it, char etag[40]);
    /* DELETE through the account service. */
    int (*remove)(const zt_account_env *env, const zt_actor *who, const zt_scim_item *it,
                  zt_account_result *res);
    void (*list)(zt_scim_call *c);
    void (*create)(zt_scim_call *c);
    void (*change)(zt_scim_call *c, bool patch); /* PUT (false) or PATCH */
} zt_scim_kind;

/* Route /{type} and /{type}/{id} by method to the kind's handlers. */
void zt_scim_resource_route(zt_scim_call *c, const zt_scim_kind *k);
/* Before changing the resource c->id names: its current state (etag set), or NULL with the
 * call finished (not found, out of memory, If-Match naming another version). */
json_t *zt_scim_resource_for_change(zt_scim_call *c, const zt_scim_kind *k, zt_scim_item *it,
                                    char etag[40]);
/* Answer with the current resource id (projected; none on 204); Location when asked. */
void zt_scim_resource_answer(zt_scim_call *c, const zt_scim_kind *k, int status, const char *id,
                             bool location);

/* A ListResponse page being filled: the query's filter, count and startIndex applied. */
typedef struct zt_scim_page {
    zt_scim_filter *f; /* NULL: every resource matches */
    long count;        /* most resources on the page */
    json_t *items;     /* the page; NULL when out of memory */
    size_t total;      /* matches so far (totalResults) */
    size_t bytes;      /* JSON size of the page so far */
} zt_scim_page;

/* Parse the query's filter: false (and the call finished with 400) when it is malformed. */
bool zt_scim_page_begin(zt_scim_call *c, zt_scim_page *p);
/* Whether the next match would go on the page. */
bool zt_scim_page_wants(const zt_scim_call *c, const zt_scim_page *p);
/* Count res (stolen) as a match unless check_filter and the filter refuses it; put it on the
 * page (projected) while the page wants it. */
void zt_scim_page_add(zt_scim_call *c, zt_scim_page *p, json_t *res, bool check_filter);
/* Answer with the page, or with the error rc (about `what`) or out of memory. */
void zt_scim_page_end(zt_scim_call *c, zt_scim_page *p, int rc, const char *what);

extern const zt_scim_kind zt_scim_user_kind;  /* users.c */
extern const zt_scim_kind zt_scim_group_kind; /* groups.c */

#endif
