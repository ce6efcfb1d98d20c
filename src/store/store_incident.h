/* Store records of incidents (schema 5 onwards): an incident groups correlated detections of one
 * user or device, with a status and an ordered timeline of events (detections, automatic
 * playbook actions, remediation, status changes). Included by store/store.h; the error codes and
 * threading rules there apply. Incidents outlive the users and devices they name (no foreign
 * keys): they are the record of what happened. */
#ifndef ZT_STORE_STORE_INCIDENT_H
#define ZT_STORE_STORE_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_store zt_store;

#define ZT_STORE_INC_TITLE_MAX 200    /* "Impossible travel for alice@example.org" */
#define ZT_STORE_INC_KIND_MAX 31      /* event kind: [a-z_] ("detection", "action", ...) */
#define ZT_STORE_INC_SUMMARY_MAX 512  /* one line, no control characters */
#define ZT_STORE_INC_DETAIL_MAX 4095  /* one JSON object, "{}" if none */
#define ZT_STORE_INC_PLAYBOOK_MAX 64  /* playbook name */
#define ZT_STORE_INC_REQUEST_MAX 64   /* audit request id (metadata.uid) */
#define ZT_STORE_INC_EVENTS_MAX 1000  /* per incident: beyond it the oldest but the first go */
#define ZT_STORE_INCIDENTS_MAX 100000 /* kept: beyond it the oldest resolved ones go */
#define ZT_STORE_INC_SUBJECT_MAX 64   /* user or device id */

typedef enum zt_store_incident_status {
    ZT_STORE_INC_OPEN = 0,
    ZT_STORE_INC_CONTAINED, /* automatic containment ran (sessions revoked, device isolated) */
    ZT_STORE_INC_RESOLVED,  /* final: a new detection opens a new incident */
    ZT_STORE_INC_N_STATUS,
} zt_store_incident_status;

/* "open", "contained", "resolved"; "unknown" out of range. */
const char *zt_store_incident_status_name(zt_store_incident_status s);
bool zt_store_incident_status_parse(const char *s, zt_store_incident_status *out);

typedef struct zt_store_incident {
    int64_t id; /* set by create */
    char title[ZT_STORE_INC_TITLE_MAX + 1];
    int severity; /* 1 low, 2 medium, 3 high (zt_risk order) */
    zt_store_incident_status status;
    char user_id[ZT_STORE_INC_SUBJECT_MAX + 1];   /* "" = none */
    char email[ZT_STORE_EMAIL_MAX + 1];           /* filled by get/list when the user exists */
    char device_id[ZT_STORE_INC_SUBJECT_MAX + 1]; /* "" = none */
    int64_t created_at;
    int64_t updated_at; /* time of the last event: correlation compares against it */
    uint64_t n_events;  /* filled by get/list */
} zt_store_incident;

typedef struct zt_store_incident_event {
    int64_t id;          /* set by the store; orders events of the same second */
    int64_t incident_id; /* set by the store */
    int64_t at;
    char kind[ZT_STORE_INC_KIND_MAX + 1];
    char summary[ZT_STORE_INC_SUMMARY_MAX + 1];
    char detail[ZT_STORE_INC_DETAIL_MAX + 1];      /* JSON object; "" is stored as "{}" */
    char playbook[ZT_STORE_INC_PLAYBOOK_MAX + 1];  /* "" = none */
    char request_id[ZT_STORE_INC_REQUEST_MAX + 1]; /* "" = none */
} zt_store_incident_event;

/* What one append changes besides adding the event; zero fields change nothing. */
typedef struct zt_store_incident_update {
    int severity;          /* raise to at least this (the incident's severity is the maximum) */
    int status;            /* a zt_store_incident_status, or -1 = unchanged */
    unsigned from_mask;    /* status changes only from these (bits 1u << status); else -EALREADY */
    const char *user_id;   /* fill when the incident has none; NULL = unchanged */
    const char *device_id; /* likewise */
} zt_store_incident_update;

typedef struct zt_store_incident_filter {
    int status;          /* a zt_store_incident_status, or -1 = any */
    const char *user_id; /* NULL = any */
    uint64_t limit;      /* 0 = no limit */
} zt_store_incident_filter;

typedef int (*zt_store_incident_cb)(void *ctx, const zt_store_incident *inc);
typedef int (*zt_store_incident_event_cb)(void *ctx, const zt_store_incident_event *ev);

/* The newest unresolved incident of user_id or device_id (either may be NULL, not both) whose
 * last event is at or after `since` (0 = any age). -ENOENT when there is none. */
int zt_store_incident_find_open(zt_store *st, const char *user_id, const char *device_id,
                                int64_t since, zt_store_incident *out);
/* Add ev to incident id (updated_at becomes ev->at when later) and apply u (nullable) in one
 * transaction. -ENOENT: no such incident; -EALREADY: the status change is not allowed from the
 * incident's current status (nothing is written). */
int zt_store_incident_append(zt_store *st, int64_t id, const zt_store_incident_update *u,
                             zt_store_incident_event *ev);
/* Correlation in one step: join the newest unresolved incident of inc->user_id or
 * inc->device_id last updated at or after `since` (0 = any age), adding ev and applying u as
 * zt_store_incident_append does (*inc becomes that incident); or, when there is none and
 * may_open, create inc (title, severity 1..3, user_id and/or device_id, created_at) as an open
 * incident with ev as its first event (inc->id, inc->updated_at and ev->id are set). *opened
 * says which. Find and write are one transaction serialised per subject, so two callers (two
 * gateways on one PostgreSQL) seeing events of one user or device at once open one incident
 * between them, not two. -ENOENT when none is open and !may_open (nothing written). */
int zt_store_incident_join_or_open(zt_store *st, zt_store_incident *inc, int64_t since,
                                   const zt_store_incident_update *u, bool may_open,
                                   zt_store_incident_event *ev, bool *opened);
int zt_store_incident_get(zt_store *st, int64_t id, zt_store_incident *out);
/* Newest first. */
int zt_store_incident_list(zt_store *st, const zt_store_incident_filter *f, zt_store_incident_cb cb,
                           void *ctx);
/* The timeline: ordered by time, then by insertion. -ENOENT: no such incident. */
int zt_store_incident_events(zt_store *st, int64_t id, zt_store_incident_event_cb cb, void *ctx);

#endif
