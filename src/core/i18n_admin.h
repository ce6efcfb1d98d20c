/* Message group of the catalogue (core/i18n.h includes this file; rows as there: id, English,
 * Japanese). Named administrators, roles and API tokens (src/session/admins.c, src/admin,
 * src/cli/cmd_admin.c) */
#ifndef ZT_CORE_I18N_ADMIN_H
#define ZT_CORE_I18N_ADMIN_H

/* clang-format off */
#define ZT_ADMIN_MESSAGES(X) \
    X(ADM_ROLE_GLOBAL_ADMIN, "Global administrator", "全体管理者") \
    X(ADM_ROLE_SECURITY_OPERATOR, "Security operator", "セキュリティ運用担当者") \
    X(ADM_ROLE_HELPDESK, "Help desk", "ヘルプデスク") \
    X(ADM_ROLE_AUDITOR, "Auditor (read-only)", "監査担当者（閲覧のみ）") \
    X(ADM_PERM_USERS_READ, "View users and groups", "ユーザーとグループの閲覧") \
    X(ADM_PERM_USERS_WRITE, "Create, disable and delete users; group membership", "ユーザーの作成・無効化・削除、グループ所属の変更") \
    X(ADM_PERM_CREDENTIALS, "Reset MFA, issue Temporary Access Passes, set passwords", "多要素認証のリセット、一時アクセスパスの発行、パスワードの設定") \
    X(ADM_PERM_SESSIONS_REVOKE, "Sign users out (revoke sessions)", "ユーザーのサインアウト（セッションの取り消し）") \
    X(ADM_PERM_DEVICES_READ, "View devices", "デバイスの閲覧") \
    X(ADM_PERM_DEVICES_WRITE, "Revoke devices, issue enrolment codes", "デバイスの失効、登録コードの発行") \
    X(ADM_PERM_RISK_READ, "View risk detections", "リスク検出の閲覧") \
    X(ADM_PERM_RISK_WRITE, "Dismiss risk, confirm a user compromised", "リスクの却下、侵害済みとしての確認") \
    X(ADM_PERM_INCIDENTS_READ, "View incidents", "インシデントの閲覧") \
    X(ADM_PERM_INCIDENTS_WRITE, "Update and resolve incidents", "インシデントの更新と解決") \
    X(ADM_PERM_AUDIT_READ, "Search the audit log", "監査ログの検索") \
    X(ADM_PERM_POLICY_READ, "View policies, what-if", "ポリシーの閲覧、What If 分析") \
    X(ADM_PERM_ASSESS, "Run and keep the Zero Trust assessment", "ゼロトラスト アセスメントの実施と保存") \
    X(ADM_PERM_ADMINS, "Grant roles, manage anyone's API tokens", "ロールの付与、全員の API トークンの管理") \
    X(ADM_SCOPE_EVERYWHERE, "All users", "すべてのユーザー") \
    X(ADM_SCOPE_GROUPS, "Users in these groups", "次のグループのユーザー") \
    X(ADM_SCOPE, "Scope", "管理範囲") \
    X(ADM_ADMINS_TITLE, "Administrators", "管理者") \
    X(ADM_MY_TOKENS_TITLE, "My API tokens", "自分の API トークン") \
    X(ADM_TOKEN_NAME, "Token name", "トークン名") \
    X(ADM_TOKEN_SCOPES, "Permissions", "権限") \
    X(ADM_TOKEN_EXPIRES, "Expires", "有効期限") \
    X(ADM_TOKEN_LAST_USED, "Last used", "最終使用") \
    X(ADM_TOKEN_NEVER_USED, "Never", "未使用") \
    X(ADM_TOKEN_ACTIVE, "Active token", "有効") \
    X(ADM_TOKEN_EXPIRED, "Expired", "期限切れ") \
    X(ADM_TOKEN_REVOKED, "Revoked", "失効済み") \
    X(ADM_TOKEN_CREATE, "Create token", "トークンを作成") \
    X(ADM_TOKEN_REVOKE, "Revoke", "失効させる") \
    X(ADM_TOKEN_SHOWN_ONCE, "Copy this token now. It is shown only once and cannot be shown again.", "このトークンを今すぐコピーしてください。表示は一度だけで、再表示はできません。") \
    X(ADM_TOKEN_CREATED, "Token created", "トークンを作成しました") \
    X(ADM_TOKEN_REVOKED_DONE, "Token revoked, with every token made from it", "トークンを失効させました（このトークンで作られたトークンも失効）") \
    X(ADM_TOKEN_BAD_NAME, "Give the token a name of 1 to 64 characters.", "トークン名を 1～64 文字で入力してください。") \
    X(ADM_TOKEN_BAD_EXPIRY, "Choose a lifetime from 1 hour to 365 days.", "有効期間は 1 時間から 365 日の範囲で選んでください。") \
    X(ADM_TOKEN_BAD_SCOPES, "Choose permissions you hold yourself.", "自分が持っている権限の中から選んでください。") \
    X(ADM_TOKEN_TOO_MANY, "You have too many active tokens. Revoke one first.", "有効なトークンが多すぎます。先にいずれかを失効させてください。") \
    X(ADM_ROLES, "Roles", "ロール") \
    X(ADM_GRANTED_BY, "Granted by", "付与者") \
    X(ADM_GRANTED_AT, "Granted on", "付与日時") \
    X(ADM_NOT_ADMIN, "Your account holds no administrator role.", "このアカウントには管理者ロールがありません。")
/* clang-format on */

#endif
