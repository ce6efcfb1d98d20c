/* Message group of the catalogue (core/i18n.h includes this file; rows as there: id, English,
 * Japanese). The web console's frame, dashboard, users, groups and devices pages (src/console) */
#ifndef ZT_CORE_I18N_CONSOLE_H
#define ZT_CORE_I18N_CONSOLE_H

/* clang-format off */
#define ZT_CONSOLE_MESSAGES(X) \
    X(CON_BRAND, "ztgate console", "ztgate 管理コンソール") \
    X(CON_NAV, "Console sections", "コンソールのメニュー") \
    X(CON_SIGN_OUT, "Sign out", "サインアウト") \
    X(CON_REQUEST_ID, "Request ID", "リクエスト ID") \
    X(CON_BACK_HOME, "Back to the dashboard", "ダッシュボードに戻る") \
    X(CON_NOT_ADMIN_TITLE, "Not an administrator", "管理者ではありません") \
    X(CON_NOT_ADMIN_BODY, "You are signed in, but your account has no administrator role. Ask a global administrator to give you one.", "サインインしていますが、このアカウントには管理者ロールがありません。グローバル管理者にロールの付与を依頼してください。") \
    X(CON_UNAVAILABLE_TITLE, "Console unavailable", "コンソールを利用できません") \
    X(CON_UNAVAILABLE_BODY, "The console cannot read its data right now. Nothing was changed. Try again in a moment.", "現在コンソールのデータを読み取れません。何も変更されていません。しばらくしてからもう一度お試しください。") \
    X(CON_NOT_FOUND_TITLE, "Not found", "見つかりません") \
    X(CON_NOT_FOUND_BODY, "There is no such page or item in the console, or it is outside the groups you manage.", "コンソールにそのページや項目はないか、あなたが管理するグループの範囲外です。") \
    X(CON_NO_ROLE_TITLE, "Not allowed for your role", "あなたのロールでは許可されていません") \
    X(CON_NO_ROLE_BODY, "Your administrator role does not include this page or change. Nothing was changed.", "あなたの管理者ロールには、このページまたは変更の権限がありません。何も変更されていません。") \
    X(CON_BAD_INPUT_TITLE, "Input not accepted", "入力を受け付けられません") \
    X(CON_BAD_QUERY, "The address or the form could not be read (a malformed or repeated field).", "アドレスまたはフォームを読み取れませんでした（不正な形式か、重複した項目があります）。") \
    X(CON_BAD_METHOD, "This page does not accept that kind of request.", "このページはその種類のリクエストを受け付けません。") \
    X(CON_CSRF_TITLE, "Change refused", "変更を拒否しました") \
    X(CON_CSRF_ORIGIN, "This change did not come from a console page (it was sent from another site). Nothing was changed.", "この変更はコンソールのページから送信されたものではありません（別のサイトから送信されました）。何も変更されていません。") \
    X(CON_CSRF_TOKEN, "This form has expired or was not sent by the console. Reload the page and try again. Nothing was changed.", "このフォームは有効期限が切れているか、コンソールから送信されたものではありません。ページを再読み込みしてもう一度お試しください。何も変更されていません。") \
    X(CON_DASHBOARD, "Dashboard", "ダッシュボード") \
    X(CON_PERIOD, "Period", "期間") \
    X(CON_P24H, "Last 24 hours", "過去 24 時間") \
    X(CON_P7D, "Last 7 days", "過去 7 日間") \
    X(CON_P30D, "Last 30 days", "過去 30 日間") \
    X(CON_CH_SIGNINS, "Sign-ins and MFA", "サインインと多要素認証") \
    X(CON_S_SIGNIN_OK, "Sign-ins", "サインイン成功") \
    X(CON_S_SIGNIN_FAIL, "Failed sign-ins", "サインイン失敗") \
    X(CON_S_MFA_OK, "MFA passed", "多要素認証 成功") \
    X(CON_S_MFA_FAIL, "MFA failed", "多要素認証 失敗") \
    X(CON_CH_DECISIONS, "Access decisions by outcome", "結果別のアクセス判定") \
    X(CON_DEC_ALLOW, "Allowed", "許可") \
    X(CON_DEC_BLOCK, "Blocked", "ブロック") \
    X(CON_DEC_CHALLENGE, "Asked for more", "追加の確認を要求") \
    X(CON_DEC_SIGN_IN, "Sent to sign in", "サインインへ誘導") \
    X(CON_DEC_ERROR, "Errors", "エラー") \
    X(CON_CH_DETECTIONS, "Detections by type", "種類別の検出") \
    X(CON_CH_DEVICES, "Devices by compliance", "準拠状態別のデバイス") \
    X(CON_DEV_COMPLIANT, "Compliant", "準拠") \
    X(CON_DEV_NONCOMPLIANT, "Not compliant", "非準拠") \
    X(CON_DEV_REVOKED, "Revoked", "失効済み") \
    X(CON_RISKY_USERS, "Risky users", "リスクのあるユーザー") \
    X(CON_OPEN_INCIDENTS, "Open incidents", "未解決のインシデント") \
    X(CON_NOTHING, "Nothing to show.", "表示する項目はありません。") \
    X(CON_AUDIT_COUNTING, "Counting the audit log for these figures (the first time after a start); reload the page in a moment. Records so far:", "これらの数値のために監査ログを集計しています（起動後の初回のみ）。しばらくしてからページを再読み込みしてください。集計済みの記録数:") \
    X(CON_AUDIT_PENDING, "Figures from the audit log are not available on this gateway.", "このゲートウェイでは監査ログの集計を表示できません。") \
    X(CON_USERS, "Users", "ユーザー") \
    X(CON_SEARCH, "Search", "検索") \
    X(CON_SEARCH_HINT, "E-mail address or name", "メールアドレスまたは名前") \
    X(CON_REF_BOX, "Why was reference id … refused?", "参照番号 … が拒否された理由") \
    X(CON_REF_BOX_GO, "Explain", "理由を表示") \
    X(CON_EMAIL, "E-mail address", "メールアドレス") \
    X(CON_NAME, "Name", "名前") \
    X(CON_STATUS, "Status", "状態") \
    X(CON_GROUPS, "Groups", "グループ") \
    X(CON_LAST_SIGNIN, "Last sign-in", "最終サインイン") \
    X(CON_ST_ACTIVE, "active", "有効") \
    X(CON_ST_DISABLED, "disabled", "無効") \
    X(CON_NEXT, "Next page", "次のページ") \
    X(CON_PREV, "Previous page", "前のページ") \
    X(CON_CREATE_USER, "Create a user", "ユーザーを作成") \
    X(CON_CREATE, "Create", "作成") \
    X(CON_DISABLE, "Disable", "無効にする") \
    X(CON_ENABLE, "Enable", "有効にする") \
    X(CON_RESET_MFA, "Reset MFA", "多要素認証をリセット") \
    X(CON_ISSUE_TAP, "Issue a Temporary Access Pass", "一時アクセスパスを発行") \
    X(CON_REVOKE_SESSIONS, "Sign out everywhere", "すべてのセッションからサインアウト") \
    X(CON_RISK_HISTORY, "Risk history", "リスク履歴") \
    X(CON_TAP_ONCE, "Give this pass to the user now: it is shown only once and is kept only hashed.", "このパスを今すぐユーザーに伝えてください。表示されるのはこの一度だけで、ハッシュ値しか保存されません。") \
    X(CON_EXPIRES, "Expires", "有効期限") \
    X(CON_MFA, "Second factor", "第 2 要素") \
    X(CON_MFA_NONE, "none registered", "未登録") \
    X(CON_MFA_TOTP, "authenticator app", "認証アプリ") \
    X(CON_SESSIONS, "Active sessions", "有効なセッション") \
    X(CON_ACTIONS, "Actions", "操作") \
    X(CON_DETECTED, "Detected", "検出日時") \
    X(CON_TYPE, "Type", "種類") \
    X(CON_LEVEL, "Level", "レベル") \
    X(CON_STATE, "State", "状態") \
    X(CON_GROUP, "Group", "グループ") \
    X(CON_MEMBERS, "Members", "メンバー") \
    X(CON_ADD_MEMBER, "Add a member (e-mail address)", "メンバーを追加（メールアドレス）") \
    X(CON_ADD, "Add", "追加") \
    X(CON_REMOVE, "Remove", "削除") \
    X(CON_DEVICES, "Devices", "デバイス") \
    X(CON_OWNER, "Owner", "所有者") \
    X(CON_PLATFORM, "Platform", "プラットフォーム") \
    X(CON_POSTURE, "Posture report", "状態レポート") \
    X(CON_COMPLIANCE, "Compliance", "準拠状態") \
    X(CON_REASONS, "Why it is not compliant", "非準拠の理由") \
    X(CON_ALERTS, "Open alerts", "未解決のアラート") \
    X(CON_REVOKE_DEVICE, "Revoke this device", "このデバイスを失効させる") \
    X(CON_LAST_SEEN, "Last seen", "最終確認") \
    X(CON_ENROLLED, "Enrolled", "登録日時") \
    X(CON_NONE, "(none)", "（なし）") \
    X(CON_DONE_CREATED, "The user was created.", "ユーザーを作成しました。") \
    X(CON_DONE_DISABLED, "The user was disabled and their sessions were ended.", "ユーザーを無効にし、そのセッションを終了しました。") \
    X(CON_DONE_ENABLED, "The user was enabled.", "ユーザーを有効にしました。") \
    X(CON_DONE_MFA_RESET, "The user's second factors were removed and their sessions ended; they enrol again at their next sign-in.", "ユーザーの第 2 要素を削除し、セッションを終了しました。次回のサインイン時に再登録します。") \
    X(CON_DONE_SESSIONS, "The user's sessions were ended.", "ユーザーのセッションを終了しました。") \
    X(CON_DONE_MEMBER_ADDED, "The member was added.", "メンバーを追加しました。") \
    X(CON_DONE_MEMBER_REMOVED, "The member was removed.", "メンバーを削除しました。") \
    X(CON_DONE_DEVICE_REVOKED, "The device was revoked: its certificate is refused and its sessions were ended.", "デバイスを失効させました。証明書は拒否され、セッションは終了しました。") \
    X(CON_ERR_EMAIL, "Enter a valid e-mail address.", "有効なメールアドレスを入力してください。") \
    X(CON_ERR_NAME, "Enter a name of at most 128 bytes.", "128 バイト以内で名前を入力してください。") \
    X(CON_ERR_EXISTS, "A user with this e-mail address already exists.", "このメールアドレスのユーザーは既に存在します。") \
    X(CON_ERR_NO_GROUP, "That group does not exist.", "そのグループは存在しません。") \
    X(CON_ERR_NO_USER, "There is no user with that e-mail address in the groups you manage.", "あなたが管理するグループに、そのメールアドレスのユーザーはいません。") \
    X(CON_ERR_PAGE, "The page number must be a whole number from 1 to 100000.", "ページ番号は 1 から 100000 までの整数で指定してください。") \
    X(CON_ERR_PERIOD, "The period must be 24h, 7d or 30d.", "期間は 24h、7d、30d のいずれかで指定してください。") \
    X(CON_ERR_SEARCH, "The search text is too long (at most 254 bytes).", "検索文字列が長すぎます（254 バイト以内）。") \
    X(CON_ERR_ALREADY, "Nothing to do: it is already in that state.", "既にその状態のため、変更はありません。") \
    X(CON_ERR_MEMBER_EXISTS, "That user is already a member.", "そのユーザーは既にメンバーです。") \
    X(CON_ERR_NOT_MEMBER, "That user is not a member of this group.", "そのユーザーはこのグループのメンバーではありません。") \
    X(CON_ERR_TAP_DISABLED, "A disabled or expired user cannot get a pass.", "無効または期限切れのユーザーにはパスを発行できません。") \
    X(CON_ERR_SCOPE_CREATE, "Your role is limited to some groups: a new user must be put in one of them.", "あなたのロールは一部のグループに限定されています。新しいユーザーはそのいずれかのグループに所属させてください。") \
    X(CON_ERR_STORE, "The change could not be saved. Nothing was changed.", "変更を保存できませんでした。何も変更されていません。") \
    X(CON_ERR_ACTION, "Unknown action.", "不明な操作です。")
/* clang-format on */

#endif
