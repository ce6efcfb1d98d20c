/* The config engine's schema language, for the modules that own a section of the file.
 *
 * core/config.c is the engine: it reads YAML through key tables (name, type, bounds, default,
 * reloadable) and applies every default in one place, for sections written, written empty or
 * left out alike. Each module declares the key table of its own section next to its code
 * (e.g. src/risk/risk_config.c) and exports it as a zt_config_module; the composition root
 * (src/config_tables.c) lists every module's descriptor in zt_config_modules, so core never
 * includes a module header. The typed target structs are still in core/config.h. */
#ifndef ZT_CORE_CONFIG_SCHEMA_H
#define ZT_CORE_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "core/config.h"
#include "core/levels.h" /* zt_risk_names for keys that take a risk level */

#define ZT_CONFIG_MAX_KEYS 32 /* keys per section (checked at compile time) */

typedef enum zt_config_kind {
    ZT_K_STR,      /* non-empty string */
    ZT_K_BOOL,     /* true | false */
    ZT_K_UINT,     /* decimal, min..max */
    ZT_K_SIZE,     /* 32KiB, min..max bytes */
    ZT_K_DURATION, /* 500ms, 10s, 5m, 12h; min..max milliseconds */
    ZT_K_ENUM,     /* one of names[]; stores the index */
    ZT_K_ADDR,     /* IP:PORT; string at off, sockaddr_storage at aux */
    ZT_K_URL,      /* http upstream; zt_upstream_cfg at off */
    ZT_K_NAME,     /* app name */
    ZT_K_HOST,     /* host name or IP literal, lowercased */
    ZT_K_PREFIX,   /* URL path prefix, normalised */
    ZT_K_CIDRS,    /* list of CIDR blocks; zt_cidr * at off, size_t count at aux */
    ZT_K_SECTION,  /* mapping read with sub; struct at off */
    ZT_K_LIST,     /* list of mappings read with sub; array at off, size_t count at aux */
    ZT_K_STRS,     /* list of strings; zt_cfg_word * at off, size_t count at aux */
    ZT_K_FLAGS,    /* list of names[] words; unsigned bit mask (1 << index) at off */
    ZT_K_CLOCK,    /* "HH:MM"; unsigned minutes after midnight */
    ZT_K_TZ,       /* "UTC", "+09:00" or an IANA zone name found in ZT_CONFIG_ZONEINFO */
    ZT_K_FREQ,     /* sign-in frequency: every_time (0) or a duration; int64_t seconds */
    ZT_K_TARGET,   /* HOST:PORT of a TCP target, resolved at load; zt_upstream_cfg at off */
} zt_config_kind;

enum {
    ZT_CFG_REQUIRED = 1u << 0,
    ZT_CFG_RELOAD = 1u << 1,       /* may change on reload without a restart */
    ZT_CFG_IN_STATE_DIR = 1u << 2, /* default is def joined to state_dir */
    ZT_CFG_PRESENT = 1u << 3,      /* ZT_K_SECTION: bool at aux says whether it was written */
    /* (scalars too: the policy schema needs "not set" apart from every value) */
    ZT_CFG_MODULE = 1u << 4, /* a top-level section whose keys a module registers (sub is
                                found by name in zt_config_modules) */
};

typedef struct zt_config_ctx zt_config_ctx;
typedef struct zt_config_walk zt_config_walk;
typedef struct zt_config_section zt_config_section;

typedef struct zt_config_key {
    const char *name;
    zt_config_kind kind;
    unsigned flags;
    size_t off, size;             /* target field */
    size_t aux;                   /* second field, see zt_config_kind */
    uint64_t min, max;            /* numbers: bounds; lists: item count */
    const char *def;              /* default, parsed exactly like text from the file; NULL = none */
    const char *const *names;     /* ZT_K_ENUM, NULL-terminated */
    const zt_config_section *sub; /* ZT_K_SECTION, ZT_K_LIST (ZT_CFG_MODULE: NULL) */
    size_t item_size;             /* ZT_K_LIST */
} zt_config_key;

struct zt_config_section {
    const zt_config_key *keys;
    size_t n;
    /* Cross-key rules, run after the keys of one written mapping were read. */
    void (*check)(zt_config_ctx *c, const zt_config_walk *w);
};

/* One mapping being read: which keys were seen where. Written or not, a section goes through
 * the same walk, so every key not written gets its table default in exactly one place
 * (zt_config_absent). */
struct zt_config_walk {
    const zt_config_section *sec;
    yaml_node_t *map;      /* NULL: absent or written empty (`auth:`), defaults only */
    const yaml_node_t *at; /* where the section was written (map or the empty value); NULL:
                              absent. Required keys are reported here. */
    yaml_node_t *key[ZT_CONFIG_MAX_KEYS];
    yaml_node_t *val[ZT_CONFIG_MAX_KEYS];
    char *target;
    const char *path;
};

#define ZT_FIELD(T, m) .off = offsetof(T, m), .size = sizeof(((T *)0)->m)
#define ZT_CONFIG_SECTION(var, arr, chk)                                                           \
    _Static_assert(sizeof(arr) / sizeof(arr[0]) <= ZT_CONFIG_MAX_KEYS, #arr " is too long");       \
    static const zt_config_section var = {arr, sizeof(arr) / sizeof(arr[0]), chk}

#define ZT_MS_S 1000ull
#define ZT_MS_M 60000ull
#define ZT_MS_H 3600000ull

/* A module's part of the file: the top-level key it owns, the table of that key's mapping (or
 * of each item, for a list), and an optional check run once the whole file was read (for rules
 * across items, or against other sections). */
typedef struct zt_config_module {
    const char *name;
    const zt_config_section *section;
    void (*check_all)(zt_config_ctx *c);
} zt_config_module;

/* An app's `oidc:` and `saml:` blocks, owned by the identity provider (src/idp/idp_config.c) and
 * read inside `apps:` items. */
extern const zt_config_section zt_idp_oidc_app_section;
extern const zt_config_section zt_idp_saml_app_section;

/* `tls:` (cert, key, self_signed), shared by the gateway's listeners and the admin listener. */
extern const zt_config_section zt_config_tls_section;

/* Every module's descriptor; defined by the composition root (src/config_tables.c). */
extern const zt_config_module *const zt_config_modules[];
extern const size_t zt_config_n_modules;

/* "public", "internal", "confidential", "restricted" (zt_sensitivity order), NULL-terminated. */
extern const char *const zt_config_sensitivities[];

/* For a section's check: the config being built, errors at a node, at a line/column, at a word
 * of a string list, the node written for a key (NULL if not written), where the mapping starts,
 * and a readable-file check (the error names the key). */
zt_config *zt_config_target(zt_config_ctx *c);
void zt_config_err(zt_config_ctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void zt_config_err_at(zt_config_ctx *c, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void zt_config_word_err(zt_config_ctx *c, const zt_cfg_word *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
yaml_node_t *zt_config_seen(const zt_config_walk *w, const char *name);
void zt_config_mark(const zt_config_walk *w, unsigned *line, unsigned *col);
void zt_config_check_file(zt_config_ctx *c, const zt_config_walk *w, const char *key,
                          const char *file, const char *hint);
/* A copy of s (or the formatted text) that lives as long as the config: for values a check
 * derives (defaults built from other sections). NULL when out of memory (reported). */
char *zt_config_printf(zt_config_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s is one of the NULL-terminated names. */
bool zt_config_in_list(const char *s, const char *const *names);

#endif
