/* Private to src/directory: a directory's settings and the libldap helpers its files share. */
#ifndef ZT_DIRECTORY_INT_H
#define ZT_DIRECTORY_INT_H

#include <ldap.h>
#include <stdatomic.h>

#include "directory/directory.h"

struct zt_directory {
    char *name, *source, *url, *ca_file, *bind_dn, *bind_pw, *base_dn;
    char *user_filter, *login_attr, *id_attr, *mail_attr, *name_attr;
    char *group_base, *group_filter, *disabled_attr, *disabled_value;
    char **domains;
    size_t n_domains;
    bool ad, starttls, jit;
    uint64_t timeout_ms, sync_interval_ms;
    atomic_uint in_flight; /* sign-in binds queued or running (async.c) */
};

struct zt_directories {
    zt_directory *d;
    size_t n;
};

int zt_dir_connect(const zt_directory *d, LDAP **out);
int zt_dir_service(const zt_directory *d, LDAP **out);
int zt_dir_user_from_entry(const zt_directory *d, LDAP *ld, LDAPMessage *e, zt_dir_user *u);
void zt_dir_user_attrs(const zt_directory *d, const char *attrs[8]);
int zt_dir_user_groups(const zt_directory *d, LDAP *ld, zt_dir_user *u);
int zt_dir_groups_add(zt_dir_user *u, const char *dn, const char *cn, const char *desc);

#endif
