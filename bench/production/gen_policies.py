#!/usr/bin/env python3
"""Print the apps, locations and Conditional Access policies of the production bench (YAML).

usage: gen_policies.py N UPSTREAM_URL HOST

The bench user (group "staff", no device, no MFA, risk none, wrk's client type "api",
platform "unknown", client address 127.0.0.1, which the generated GeoIP file places in JP and
the location "corp" marks trusted) requests the internal app "bench". The N policies are a
mix a real tenant has; for this request every one either stops at some condition or applies
and is satisfied, so the outcome is always allow:

  kind                    scope                      stops at / outcome
  risk-block              all users, all apps        sign_in_risk / user_risk (risk is none)
  offsite-mfa             all users, bench           location: trusted excluded
  staff-pwchange          group:staff, internal      APPLIES, password_change is met
  frequency               all users, all except hr   APPLIES, sign_in_frequency is met
  either-control          group:staff, bench         APPLIES, OR(mfa, password_change) is met
  unmanaged-device-block  all users, bench           device enrolled: true
  anonymous-block         all users, all apps        anonymous_ip: true
  contractors-mfa         group:contractors-K        user (not a member)
  mobile-browser-mfa      all users, bench           platforms ios/android
  after-hours-report      all users, all apps        APPLIES, report-only block (never enforced)
  finance-block           all users, fin             app (another app)
  legacy-off              all users, all apps        state: off

The kinds repeat in this order with different groups, levels and apps until N policies exist."""
import sys

DAYS = "[mon, tue, wed, thu, fri, sat, sun]"


def kinds():
    return [
        lambda i: ("risk-block-%d" % i, "on", "[all]", "", "[all]", "",
                   "conditions: {%s: [%s]}" % (("sign_in_risk", "user_risk")[i % 2],
                                              ("medium, high", "high", "low, medium, high")[i % 3]),
                   "grant: {block: true}"),
        lambda i: ("offsite-mfa-%d" % i, "on", "[all]", "[group:breakglass]", "[bench]", "",
                   "conditions: {locations: {include: [all], exclude: [trusted]}}",
                   "grant: {controls: [mfa]}"),
        lambda i: ("staff-pwchange-%d" % i, "on", "[group:staff]", "", "[sensitivity:internal]", "",
                   "", "grant: {controls: [password_change]}"),
        lambda i: ("frequency-%d" % i, "on", "[all]", "", "[all]", "[hr]", "",
                   "session: {sign_in_frequency: %dh}" % (8 + i % 16)),
        lambda i: ("either-control-%d" % i, "on", "[group:staff]", "", "[bench, wiki]", "", "",
                   "grant: {controls: [mfa, password_change], operator: OR}"),
        lambda i: ("unmanaged-device-block-%d" % i, "on", "[all]", "", "[bench]", "",
                   "conditions: {device: {enrolled: true, compliant: false}}",
                   "grant: {block: true}"),
        lambda i: ("anonymous-block-%d" % i, "on", "[all]", "", "[all]", "",
                   "conditions: {anonymous_ip: true}", "grant: {block: true}"),
        lambda i: ("contractors-mfa-%d" % i, "on", "[group:contractors-%d]" % i, "", "[all]", "",
                   "", "grant: {controls: [mfa]}"),
        lambda i: ("mobile-browser-mfa-%d" % i, "on", "[all]", "", "[bench]", "",
                   "conditions: {device: {platforms: [ios, android]}, client_types: [browser]}",
                   "grant: {controls: [mfa]}"),
        lambda i: ("after-hours-report-%d" % i, "report_only", "[all]", "", "[all]", "",
                   "conditions: {time: {days: %s, timezone: Asia/Tokyo}}" % DAYS,
                   "grant: {block: true}"),
        lambda i: ("finance-block-%d" % i, "on", "[all]", "[group:finance]", "[fin]", "",
                   "conditions: {locations: {include: [all], exclude: [trusted]}}",
                   "grant: {block: true}"),
        lambda i: ("legacy-off-%d" % i, "off", "[all]", "", "[all]", "", "",
                   "grant: {block: true}"),
    ]


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: gen_policies.py N UPSTREAM_URL HOST")
    n, upstream, host = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    print("apps:")
    print("  - {name: bench, host: %s, upstream: \"%s\", sensitivity: internal}" % (host, upstream))
    for name, level in (("wiki", "internal"), ("hr", "confidential"), ("fin", "restricted")):
        print("  - {name: %s, host: %s.test, upstream: \"%s\", sensitivity: %s}"
              % (name, name, upstream, level))
    print("locations:")
    print("  - {name: corp, cidrs: [127.0.0.0/8, 10.0.0.0/8], trusted: true}")
    print("  - {name: branch, cidrs: [\"172.16.0.0/12\", \"2001:db8:1::/48\"], trusted: true}")
    print("  - {name: embargo, countries: [KP, IR, SY]}")
    print("policies:" if n > 0 else "policies: []")
    table = kinds()
    for i in range(n):
        name, state, uinc, uexc, ainc, aexc, cond, grant = table[i % len(table)](i)
        users = "{include: %s%s}" % (uinc, ", exclude: %s" % uexc if uexc else "")
        apps = "{include: %s%s}" % (ainc, ", exclude: %s" % aexc if aexc else "")
        parts = ["name: %s" % name, "state: %s" % state, "users: %s" % users, "apps: %s" % apps]
        parts += [p for p in (cond, grant) if p]
        print("  - {%s}" % ", ".join(parts))


if __name__ == "__main__":
    main()
