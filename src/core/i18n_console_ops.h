/* Message group of the catalogue (core/i18n.h includes this file; rows as there: id, English,
 * Japanese). The web console's apps, policies, what-if, risk, incidents and audit pages
 * (src/console) */
#ifndef ZT_CORE_I18N_CONSOLE_OPS_H
#define ZT_CORE_I18N_CONSOLE_OPS_H

/* clang-format off */
#define ZT_CONSOLE_OPS_MESSAGES(X) \
    X(COP_APPS_TITLE, "Apps", "アプリ") \
    X(COP_POLICIES_TITLE, "Policies", "ポリシー") \
    X(COP_WHATIF_TITLE, "What if", "What If（評価の試行）") \
    X(COP_RISK_TITLE, "Risk", "リスク") \
    X(COP_INCIDENTS_TITLE, "Incidents", "インシデント") \
    X(COP_AUDIT_TITLE, "Audit log", "監査ログ") \
    X(COP_REF_TITLE, "Reference lookup", "参照番号の確認") \
    X(COP_NAME, "Name", "名前") \
    X(COP_KIND, "Kind", "種類") \
    X(COP_HOST, "Host", "ホスト") \
    X(COP_UPSTREAM, "Upstream", "転送先") \
    X(COP_SENSITIVITY, "Sensitivity", "機密度") \
    X(COP_STREAMS, "WebSocket / tunnel", "WebSocket / トンネル") \
    X(COP_POLICIES_APPLYING, "Policies that apply", "適用されるポリシー") \
    X(COP_YES, "yes", "はい") \
    X(COP_NO, "no", "いいえ") \
    X(COP_NONE, "(none)", "（なし）") \
    X(COP_ALL, "all", "すべて") \
    X(COP_STATE, "State", "状態") \
    X(COP_STATE_ON, "On", "有効") \
    X(COP_STATE_REPORT_ONLY, "Report-only", "レポートのみ") \
    X(COP_STATE_OFF, "Off", "無効") \
    X(COP_ASSIGN_USERS, "Users", "対象ユーザー") \
    X(COP_ASSIGN_APPS, "Apps", "対象アプリ") \
    X(COP_EXCEPT, "except", "除外") \
    X(COP_CONDITIONS, "Conditions", "条件") \
    X(COP_NO_CONDITIONS, "No conditions: every request of these users to these apps", \
      "条件なし: 対象ユーザーから対象アプリへのすべてのリクエスト") \
    X(COP_COND_USER_RISK, "User risk is", "ユーザーリスクが次のいずれか") \
    X(COP_COND_SIGN_IN_RISK, "Sign-in risk is", "サインインリスクが次のいずれか") \
    X(COP_COND_DEVICE_COMPLIANT, "The device is compliant", "デバイスが準拠している") \
    X(COP_COND_DEVICE_NONCOMPLIANT, "The device is not compliant (or unknown)", \
      "デバイスが準拠していない（または不明）") \
    X(COP_COND_DEVICE_ENROLLED, "The device is enrolled", "デバイスが登録済み") \
    X(COP_COND_DEVICE_NOT_ENROLLED, "The device is not enrolled", "デバイスが未登録") \
    X(COP_COND_DEVICE_RISK, "Device risk is", "デバイスリスクが次のいずれか") \
    X(COP_COND_PLATFORM, "Platform is", "プラットフォームが次のいずれか") \
    X(COP_COND_LOCATIONS, "From the locations", "次の場所から") \
    X(COP_COND_ANONYMOUS, "From an anonymous address (Tor, anonymising VPN, public proxy)", \
      "匿名アドレス（Tor、匿名化 VPN、公開プロキシ）から") \
    X(COP_COND_NOT_ANONYMOUS, "Not from an anonymous address", "匿名アドレス以外から") \
    X(COP_COND_CLIENT, "Client is", "クライアントが次のいずれか") \
    X(COP_COND_TIME, "Time", "時間帯") \
    X(COP_GRANT, "Grant", "許可の制御") \
    X(COP_GRANT_BLOCK, "Block access", "アクセスをブロック") \
    X(COP_GRANT_ALL_OF, "Require all of", "次のすべてを要求") \
    X(COP_GRANT_ONE_OF, "Require one of", "次のいずれかを要求") \
    X(COP_GRANT_NOTHING, "Allow (no control required)", "許可（要求する制御なし）") \
    X(COP_CTL_MFA, "multi-factor authentication", "多要素認証") \
    X(COP_CTL_PHISHING_RESISTANT, "phishing-resistant MFA (passkey or security key)", \
      "フィッシング耐性のある多要素認証（パスキーまたはセキュリティキー）") \
    X(COP_CTL_COMPLIANT_DEVICE, "a compliant device", "準拠デバイス") \
    X(COP_CTL_PASSWORD_CHANGE, "changing the password", "パスワード変更") \
    X(COP_STRENGTH, "only passkeys of these models (AAGUID)", "次の機種（AAGUID）のパスキーのみ") \
    X(COP_SESSION, "Session", "セッションの制御") \
    X(COP_SESSION_FREQUENCY, "Sign in again every", "再サインインの間隔") \
    X(COP_SESSION_EVERY_TIME, "every time", "毎回") \
    X(COP_SESSION_READ_ONLY, "read only (no changes)", "読み取り専用") \
    X(COP_SESSION_NO_DOWNLOAD, "no downloads", "ダウンロード禁止") \
    X(COP_RO_IMPACT, "Requests it would have blocked in the last 24 h", \
      "過去 24 時間にブロックしたはずのリクエスト数") \
    X(COP_RO_IMPACT_NOTE, \
      "Report-only: the policy is evaluated on every request and its result is recorded, never " \
      "enforced. Turn it on in the configuration file when this number is what you expect.", \
      "レポートのみ: このポリシーはすべてのリクエストで評価されて結果が記録されますが、適用は" \
      "されません。この数が想定どおりになったら、設定ファイルで有効にしてください。") \
    X(COP_GITOPS_NOTE, \
      "Policies are read from the configuration file. The console explains and tries them but " \
      "never edits them: change the file (kept under version control), check it with " \
      "ztgate check-config, and reload ztgate (SIGHUP).", \
      "ポリシーは設定ファイルから読み込まれます。コンソールはポリシーの説明と試行のみを行い、" \
      "編集はしません。変更するには設定ファイル（バージョン管理下）を編集し、ztgate " \
      "check-config で確認してから ztgate を再読み込み（SIGHUP）してください。") \
    X(COP_NO_POLICIES, "No policy is configured: every signed-in user is allowed.", \
      "ポリシーが設定されていません。サインインしたすべてのユーザーが許可されます。") \
    X(COP_NO_SUCH_POLICY, "No policy has this name.", "この名前のポリシーはありません。") \
    X(COP_MISS_OFF, "the policy is off", "ポリシーが無効") \
    X(COP_MISS_USER_NOT_INCLUDED, "the user is not included", "ユーザーが対象外") \
    X(COP_MISS_USER_EXCLUDED, "the user is excluded", "ユーザーが除外されている") \
    X(COP_MISS_APP_NOT_INCLUDED, "the app is not included", "アプリが対象外") \
    X(COP_MISS_APP_EXCLUDED, "the app is excluded", "アプリが除外されている") \
    X(COP_MISS_USER_RISK, "the user risk does not match", "ユーザーリスクが条件に一致しない") \
    X(COP_MISS_SIGN_IN_RISK, "the sign-in risk does not match", "サインインリスクが条件に一致しない") \
    X(COP_MISS_DEVICE, "the device does not match", "デバイスが条件に一致しない") \
    X(COP_MISS_PLATFORM, "the platform does not match", "プラットフォームが条件に一致しない") \
    X(COP_MISS_LOCATION, "the location does not match", "場所が条件に一致しない") \
    X(COP_MISS_ANONYMOUS_IP, "the address does not match (anonymous or not)", \
      "アドレス（匿名かどうか）が条件に一致しない") \
    X(COP_MISS_CLIENT, "the client type does not match", "クライアントの種類が条件に一致しない") \
    X(COP_MISS_TIME, "outside the policy's time window", "ポリシーの時間帯外") \
    X(COP_V_ALLOW, "Allowed", "許可") \
    X(COP_V_BLOCK, "Blocked", "ブロック") \
    X(COP_V_MFA, "Multi-factor authentication required", "多要素認証が必要") \
    X(COP_V_PHISHING_RESISTANT, "Passkey or security key required", \
      "パスキーまたはセキュリティキーが必要") \
    X(COP_V_COMPLIANT_DEVICE, "Compliant device required", "準拠デバイスが必要") \
    X(COP_V_PASSWORD_CHANGE, "Password change required", "パスワード変更が必要") \
    X(COP_V_REAUTH, "Sign in again (sign-in frequency)", "再サインインが必要（サインイン頻度）") \
    X(COP_WF_INTRO, \
      "Simulate one request against the running policies: the answer is the gateway's own " \
      "evaluation, the same as ztgate whatif.", \
      "実行中のポリシーに対して 1 件のリクエストを試行します。結果はゲートウェイ自身の評価で、" \
      "ztgate whatif と同じです。") \
    X(COP_WF_USER, "User (e-mail)", "ユーザー（メールアドレス）") \
    X(COP_WF_GROUPS, "Or a hypothetical user in these groups (comma-separated)", \
      "または次のグループに属する仮のユーザー（カンマ区切り）") \
    X(COP_WF_APP, "App", "アプリ") \
    X(COP_WF_IP, "IP address", "IP アドレス") \
    X(COP_WF_COUNTRY, "Country (two letters, JP)", "国（2 文字、JP）") \
    X(COP_WF_DEVICE, "Device", "デバイス") \
    X(COP_WF_PLATFORM, "Platform", "プラットフォーム") \
    X(COP_WF_CLIENT, "Client", "クライアント") \
    X(COP_WF_AT, "Time (RFC 3339, empty: now)", "日時（RFC 3339、空欄は現在）") \
    X(COP_WF_AUTH_AGE, "Signed in how long ago (30m, 8h)", "サインインからの経過時間（30m、8h）") \
    X(COP_WF_MFA, "Signed in with multi-factor authentication", "多要素認証でサインイン済み") \
    X(COP_WF_PHISHING_RESISTANT, "With a passkey or security key", \
      "パスキーまたはセキュリティキーで") \
    X(COP_WF_ANONYMOUS, "From an anonymous address", "匿名アドレスから") \
    X(COP_WF_PASSWORD_CHANGE, "A password change is required", "パスワード変更が要求されている") \
    X(COP_WF_SIGN_IN_RISK, "Sign-in risk", "サインインリスク") \
    X(COP_WF_USER_RISK, "User risk", "ユーザーリスク") \
    X(COP_WF_DEVICE_RISK, "Device risk", "デバイスリスク") \
    X(COP_WF_SUBMIT, "Evaluate", "評価する") \
    X(COP_WF_DECISION, "Decision", "判定") \
    X(COP_WF_DECIDING, "Deciding policy", "判定したポリシー") \
    X(COP_WF_POLICY_VERDICTS, "Every policy", "すべてのポリシー") \
    X(COP_WF_APPLIES, "applies", "適用") \
    X(COP_WF_REPORT_ONLY, "Report-only policies would have answered", \
      "レポートのみのポリシーの結果") \
    X(COP_WF_DISABLED_USER, "This account is disabled: it cannot sign in at all.", \
      "このアカウントは無効化されているため、サインインできません。") \
    X(COP_WF_REF_DISAGREES, "The reference evaluator disagrees with this answer; please report this.", \
      "参照評価器の結果がこの判定と一致しません。報告してください。") \
    X(COP_WF_NEED_USER, "Give a user's e-mail or the groups of a hypothetical user.", \
      "ユーザーのメールアドレス、または仮のユーザーのグループを入力してください。") \
    X(COP_WF_NO_USER, "No user has this e-mail address.", "このメールアドレスのユーザーはいません。") \
    X(COP_WF_NO_APP, "No app has this name.", "この名前のアプリはありません。") \
    X(COP_BAD_VALUE, "This value is not valid", "この値は正しくありません") \
    X(COP_BAD_INPUT_TITLE, "Check your input", "入力内容を確認してください") \
    X(COP_RISKY_USERS, "Risky users", "リスクのあるユーザー") \
    X(COP_DETECTIONS, "Risky sign-ins and detections", "リスクのあるサインインと検出") \
    X(COP_USER, "User", "ユーザー") \
    X(COP_TYPE, "Type", "種類") \
    X(COP_LEVEL, "Level", "レベル") \
    X(COP_TIME, "Time", "日時") \
    X(COP_IP, "IP address", "IP アドレス") \
    X(COP_DETAIL, "Detail", "詳細") \
    X(COP_ACTIONS, "Actions", "操作") \
    X(COP_ACTIVITY_USER, "user (account)", "ユーザー") \
    X(COP_ACTIVITY_SIGN_IN, "a sign-in", "サインイン") \
    X(COP_RISK_DISMISS, "Dismiss", "リスクを却下") \
    X(COP_RISK_CONFIRM, "Confirm compromised", "侵害を確認") \
    X(COP_RISK_DISMISSED, "The detection is dismissed.", "検出を却下しました。") \
    X(COP_RISK_CONFIRMED, \
      "The user is confirmed compromised: user risk is high and every session is revoked.", \
      "侵害を確認しました。ユーザーリスクは高になり、すべてのセッションが失効しました。") \
    X(COP_RISK_ALREADY_CLOSED, "This detection is already closed.", "この検出はすでに終了しています。") \
    X(COP_RISK_NONE, "No open detection.", "未対応の検出はありません。") \
    X(COP_RISK_UNAVAILABLE, "Risk detection is not running.", "リスク検出が動作していません。") \
    X(COP_NOT_FOUND, "Not found", "見つかりません") \
    X(COP_OUT_OF_SCOPE, "This is outside the groups you administer.", \
      "あなたが管理するグループの範囲外です。") \
    X(COP_SEVERITY, "Severity", "重大度") \
    X(COP_STATUS, "Status", "状態") \
    X(COP_TITLE, "Title", "タイトル") \
    X(COP_DEVICE, "Device", "デバイス") \
    X(COP_EVENTS, "Events", "イベント数") \
    X(COP_UPDATED, "Updated", "更新日時") \
    X(COP_INC_ALL, "All", "すべて") \
    X(COP_INC_OPEN, "Open", "未解決") \
    X(COP_INC_RESOLVED, "Resolved", "解決済み") \
    X(COP_INC_TIMELINE, "Timeline", "タイムライン") \
    X(COP_INC_RESOLVE, "Resolve", "解決する") \
    X(COP_INC_RESOLVED_NOTICE, "The incident is resolved.", "インシデントを解決しました。") \
    X(COP_INC_ALREADY, "This incident is already resolved.", "このインシデントはすでに解決済みです。") \
    X(COP_INC_NONE, "No incident.", "インシデントはありません。") \
    X(COP_INC_UNAVAILABLE, "Incident response is not running.", "インシデント対応が動作していません。") \
    X(COP_FILTER, "Filter", "絞り込み") \
    X(COP_F_FROM, "From (RFC 3339)", "開始（RFC 3339）") \
    X(COP_F_TO, "To (RFC 3339)", "終了（RFC 3339）") \
    X(COP_F_USER, "User (e-mail or id)", "ユーザー（メールアドレスまたは ID）") \
    X(COP_F_DEVICE, "Device id", "デバイス ID") \
    X(COP_F_IP, "IP address or CIDR", "IP アドレスまたは CIDR") \
    X(COP_DEC_REPORT_ONLY_BLOCK, "Report-only: would block", "レポートのみ: ブロック相当") \
    X(COP_F_DECISION, "Decision", "判定") \
    X(COP_F_CLASS, "Event class", "イベントの種類") \
    X(COP_F_APP, "App", "アプリ") \
    X(COP_F_REF, "Reference id", "参照番号") \
    X(COP_F_TEXT, "Text", "テキスト") \
    X(COP_SEARCH, "Search", "検索") \
    X(COP_AUDIT_NONE, "No record matches.", "一致する記録はありません。") \
    X(COP_AUDIT_MORE, "Older records", "さらに古い記録") \
    X(COP_AUDIT_BAD_FILTER, "A filter is not valid", "絞り込み条件が正しくありません") \
    X(COP_AUDIT_UNAVAILABLE, "The audit log cannot be searched right now.", \
      "現在、監査ログを検索できません。") \
    X(COP_MESSAGE, "Message", "メッセージ") \
    X(COP_RECORD, "Record", "記録") \
    X(COP_REF_INTRO, "Type the reference shown on a block page to see why the request was refused.", \
      "ブロックページに表示された参照番号を入力すると、拒否された理由を確認できます。") \
    X(COP_REF_NOT_FOUND, "No decision record has this reference.", \
      "この参照番号の判定記録はありません。") \
    X(COP_REF_BAD, "A reference is letters, digits and dashes.", \
      "参照番号は英数字とハイフンで構成されます。") \
    X(COP_REF_WHY, "Why", "理由") \
    X(COP_REF_POLICIES, "Policies that applied", "適用されたポリシー") \
    X(COP_REF_RISK, "Risk", "リスク") \
    X(COP_REF_WHAT_TO_DO, "What to do", "対処方法") \
    X(COP_REF_DO_MFA, "The user signs in again with multi-factor authentication.", \
      "ユーザーが多要素認証で再度サインインします。") \
    X(COP_REF_DO_PASSKEY, "The user registers a passkey or security key and signs in with it.", \
      "ユーザーがパスキーまたはセキュリティキーを登録し、それでサインインします。") \
    X(COP_REF_DO_DEVICE, "The user enrols the device and fixes what its compliance rules report (see Devices).", \
      "ユーザーがデバイスを登録し、準拠ルールの指摘を解消します（デバイスを参照）。") \
    X(COP_REF_DO_PASSWORD, "The user changes the password.", "ユーザーがパスワードを変更します。") \
    X(COP_REF_DO_BLOCK, \
      "A block policy refused it. If it should be allowed, change the policy in the configuration " \
      "file, or check the user's risk (Risk) and the device.", \
      "ブロックポリシーが拒否しました。許可すべき場合は設定ファイルのポリシーを変更するか、" \
      "ユーザーのリスク（リスク）とデバイスを確認してください。") \
    X(COP_REF_DO_RISK, "The user's risk is high: review it on the Risk page (dismiss or confirm compromised).", \
      "ユーザーのリスクが高い状態です。リスクのページで確認してください（却下または侵害の確認）。") \
    X(COP_REF_DO_NOTHING, "The request was allowed; nothing to do.", "リクエストは許可されました。対処は不要です。")
/* clang-format on */

#endif
