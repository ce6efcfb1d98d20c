/* What a SCIM resource type's handlers share, written once for Users and Groups: GET of one
 * resource with If-None-Match (304), DELETE with If-Match through the account service, the
 * If-Match check before a PUT or PATCH, the answer after a change, the list page, and routing
 * by method. Each
 * type gives its store look-ups, its JSON and its names in a zt_scim_kind. */
#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scim/scim_int.h"

/* The resource c->id names as JSON, or NULL with the call finished. */
static json_t *load(zt_scim_call *c, const zt_scim_kind *k, zt_scim_item *it, char etag[40])
{
    int rc = k->find(c, it);
    json_t *res = rc == 0 ? k->to_json(c, it, etag) : NULL;
    if (res == NULL)
        zt_scim_store_fail(c, rc < 0 ? rc : -ENOMEM, k->what);
    return res;
}

json_t *zt_scim_resource_for_change(zt_scim_call *c, const zt_scim_kind *k, zt_scim_item *it,
                                    char etag[40])
{
    json_t *cur = load(c, k, it, etag);
    if (cur != NULL && !zt_scim_if_match_ok(c, etag)) {
        json_decref(cur);
        return NULL;
    }
    return cur;
}

void zt_scim_resource_answer(zt_scim_call *c, const zt_scim_kind *k, int status, const char *id,
                             bool location)
{
    zt_scim_item it;
    char etag[40];
    int rc = k->fetch(c, id, &it);
    json_t *res = rc == 0 ? k->to_json(c, &it, etag) : NULL;
    if (res == NULL) {
        zt_scim_store_fail(c, rc < 0 ? rc : -ENOMEM, k->what);
        return;
    }
    if (status == 204) {
        json_decref(res);
        res = NULL;
    }
    char *loc = location ? zt_scim_location(c, k->type, id) : NULL;
    if (res != NULL)
        zt_scim_project(res, &c->q);
    zt_scim_finish(c, status, res, etag, loc);
    free(loc);
}

bool zt_scim_page_begin(zt_scim_call *c, zt_scim_page *p)
{
    memset(p, 0, sizeof(*p));
    zt_scim_error err = {0};
    if (c->q.filter != NULL &&
        zt_scim_filter_parse(c->q.filter, strlen(c->q.filter), &p->f, &err) < 0) {
        zt_scim_finish_error(c, &err);
        return false;
    }
    p->count = c->q.count < 0 ? ZT_SCIM_DEFAULT_COUNT : c->q.count;
    if (p->count > ZT_SCIM_MAX_RESULTS)
        p->count = ZT_SCIM_MAX_RESULTS;
    p->items = json_array();
    return true;
}

bool zt_scim_page_wants(const zt_scim_call *c, const zt_scim_page *p)
{
    return p->total + 1 >= (size_t)c->q.start_index &&
           json_array_size(p->items) < (size_t)p->count && p->bytes < ZT_SCIM_PAGE_BYTES;
}

void zt_scim_page_add(zt_scim_call *c, zt_scim_page *p, json_t *res, bool check_filter)
{
    if (check_filter && p->f != NULL && !zt_scim_filter_match(p->f, res)) {
        json_decref(res);
        return;
    }
    bool in_page = zt_scim_page_wants(c, p);
    p->total++;
    if (in_page) {
        zt_scim_project(res, &c->q);
        p->bytes += json_dumpb(res, NULL, 0, JSON_COMPACT);
        json_array_append_new(p->items, res);
    } else {
        json_decref(res);
    }
}

void zt_scim_page_end(zt_scim_call *c, zt_scim_page *p, int rc, const char *what)
{
    zt_scim_filter_free(p->f);
    if (rc < 0 || p->items == NULL) {
        json_decref(p->items);
        zt_scim_store_fail(c, rc < 0 ? rc : -ENOMEM, what);
        return;
    }
    zt_scim_finish(c, 200, zt_scim_list_response(p->items, p->total, c->q.start_index), NULL, NULL);
}

static void resource_get(zt_scim_call *c, const zt_scim_kind *k)
{
    c->action = k->get_action;
    zt_scim_item it;
    char etag[40];
    json_t *res = load(c, k, &it, etag);
    if (res == NULL)
        return;
    if (zt_scim_if_none_match_hit(c, etag)) {
        json_decref(res);
        zt_scim_finish(c, 304, NULL, etag, NULL);
        return;
    }
    zt_scim_project(res, &c->q);
    zt_scim_finish(c, 200, res, etag, NULL);
}

static void resource_delete(zt_scim_call *c, const zt_scim_kind *k)
{
    c->action = k->delete_action;
    zt_scim_item it;
    char etag[40];
    json_t *cur = zt_scim_resource_for_change(c, k, &it, etag);
    if (cur == NULL)
        return;
    json_decref(cur);
    zt_account_env env = zt_scim_account_env(c);
    zt_actor who;
    zt_scim_actor(c, &who);
    zt_account_result res = {0};
    int rc = k->remove(&env, &who, &it, &res);
    if (rc < 0) {
        zt_scim_store_fail(c, rc, k->what);
        return;
    }
    if (!zt_scim_account_done(c, &res))
        return;
    snprintf(c->change, sizeof(c->change), "%s", k->deleted);
    zt_scim_finish(c, 204, NULL, NULL, NULL);
}

void zt_scim_resource_route(zt_scim_call *c, const zt_scim_kind *k)
{
    int m = c->r->method;
    if (c->id[0] == '\0') {
        if (m == HTTP_GET)
            k->list(c);
        else if (m == HTTP_POST)
            k->create(c);
        else
            zt_scim_refuse(c, 405, NULL, "/%s takes GET and POST", k->type);
        return;
    }
    if (m == HTTP_GET)
        resource_get(c, k);
    else if (m == HTTP_PUT)
        k->change(c, false);
    else if (m == HTTP_PATCH)
        k->change(c, true);
    else if (m == HTTP_DELETE)
        resource_delete(c, k);
    else
        zt_scim_refuse(c, 405, NULL, "/%s/{id} takes GET, PUT, PATCH and DELETE", k->type);
}
