/* Message group of the catalogue (core/i18n.h includes this file; rows as there: id, English,
 * Japanese). The Zero Trust assessment: pillars, stages, evidence, next measures (src/assess, its
 * console page) */
#ifndef ZT_CORE_I18N_ASSESS_H
#define ZT_CORE_I18N_ASSESS_H

/* clang-format off */
#define ZT_ASSESS_MESSAGES(X) \
    X(ASM_TITLE, "Zero Trust assessment", "ゼロトラスト アセスメント") \
    X(ASM_INTRO, "Stages per pillar of the CISA Zero Trust Maturity Model v2, measured from the live configuration, the store and the audit log; a short questionnaire covers only what cannot be measured.", "CISA ゼロトラスト成熟度モデル v2 の柱ごとの段階です。稼働中の設定、ストア、監査ログから測定し、測定できない項目だけを短い質問票で補います。") \
    X(ASM_GENERATED, "Assessed", "評価日時") \
    X(ASM_CONFIG, "Configuration", "設定ファイル") \
    X(ASM_WINDOW, "Audit window", "監査ログの対象期間") \
    X(ASM_DAYS, "days", "日") \
    X(ASM_PILLAR, "Pillar", "柱") \
    X(ASM_STAGE, "Stage", "段階") \
    X(ASM_STAGES, "Stage per pillar", "柱ごとの段階") \
    X(ASM_EVIDENCE, "Evidence", "根拠") \
    X(ASM_CRITERION, "Criterion", "基準") \
    X(ASM_NEEDED_FOR, "Needed for", "必要な段階") \
    X(ASM_FIGURE, "Measured", "測定値") \
    X(ASM_SOURCE, "Source", "出典") \
    X(ASM_MET, "criterion met", "基準を達成") \
    X(ASM_UNMET, "criterion not met", "基準を未達成") \
    X(ASM_MEASURES, "Next measures, by effect", "次に取るべき対策(効果の大きい順)") \
    X(ASM_MORE_MEASURES, "More measures", "その他の対策") \
    X(ASM_NO_MEASURES, "Nothing left: every criterion is met.", "残りの対策はありません。すべての基準を満たしています。") \
    X(ASM_FIX_CONFIG, "Change to the configuration file (then ztgate check-config and a reload)", "設定ファイルの変更(その後 ztgate check-config と再読み込み)") \
    X(ASM_FIX_COMMAND, "Command", "コマンド") \
    X(ASM_FIX_ANSWER, "Answer the question", "質問への回答") \
    X(ASM_QUESTIONNAIRE, "Questionnaire (what cannot be measured)", "質問票(測定できない項目)") \
    X(ASM_ANSWER, "Answer", "回答") \
    X(ASM_NOT_ANSWERED, "not answered", "未回答") \
    X(ASM_HISTORY, "Progress", "推移") \
    X(ASM_NO_HISTORY, "No kept assessment yet: run ztgate assess --save.", "保存された評価はまだありません。ztgate assess --save を実行してください。") \
    X(ASM_NOT_MEASURED, "not measured", "測定不可") \
    X(ASM_F_ANSWER, "{0}: {1}", "{0}：{1}") \
    X(ASM_F_USERS_MFA, "{0}/{1} users with MFA ({2})", "MFA を登録したユーザー {0}/{1} 人 ({2})") \
    X(ASM_F_USERS_PASSKEY, "{0}/{1} users with a passkey ({2})", "パスキーを持つユーザー {0}/{1} 人 ({2})") \
    X(ASM_F_APPS_PR, "{0}/{1} apps always ask phishing-resistant MFA ({2})", "常にフィッシング耐性のある MFA を求めるアプリ {0}/{1} 個 ({2})") \
    X(ASM_F_DEVICES_COMPLIANT, "{0}/{1} devices compliant ({2})", "準拠しているデバイス {0}/{1} 台 ({2})") \
    X(ASM_F_APPS_COMPLIANT, "{0}/{1} apps always ask a compliant device ({2})", "常に準拠デバイスを求めるアプリ {0}/{1} 個 ({2})") \
    X(ASM_F_LISTENERS_TLS, "{0}/{1} listeners with TLS ({2})", "TLS を使う待ち受け {0}/{1} 個 ({2})") \
    X(ASM_F_UPSTREAMS_TLS, "{0}/{1} upstreams over TLS ({2})", "TLS で接続するアップストリーム {0}/{1} 個 ({2})") \
    X(ASM_F_UPSTREAMS_MTLS, "{0}/{1} upstreams with mutual TLS ({2})", "相互 TLS で接続するアップストリーム {0}/{1} 個 ({2})") \
    X(ASM_F_APPS_POLICY, "{0}/{1} apps under an enforced policy for all users ({2})", "全ユーザー向けの有効なポリシーの対象アプリ {0}/{1} 個 ({2})") \
    X(ASM_F_APPS_MFA, "{0}/{1} apps always ask MFA ({2})", "常に MFA を求めるアプリ {0}/{1} 個 ({2})") \
    X(ASM_F_APPS_RISK, "{0}/{1} apps under a risk-based policy ({2})", "リスクベースのポリシーの対象アプリ {0}/{1} 個 ({2})") \
    X(ASM_F_APPS_LABELLED, "{0}/{1} apps with a sensitivity label ({2})", "機密度ラベルのあるアプリ {0}/{1} 個 ({2})") \
    X(ASM_F_SENSITIVE_PROTECTED, "{0}/{1} sensitive apps need a compliant device and restrict downloads ({2})", "準拠デバイスを求めダウンロードを制限する機密アプリ {0}/{1} 個 ({2})") \
    X(ASM_F_RESPONSES_AUTO, "{0}/{1} responses automated ({2})", "自動化された対応 {0}/{1} 件 ({2})") \
    X(ASM_F_RISK_POLICIES, "{0} enforced risk-based policies", "有効なリスクベースのポリシー {0} 個") \
    X(ASM_F_FREQUENCY, "{0} enforced sign-in frequency policies", "有効なサインイン頻度のポリシー {0} 個") \
    X(ASM_F_ADMINS, "{0} named administrators with roles", "役割を持つ名前付き管理者 {0} 人") \
    X(ASM_F_DEVICES, "{0} enrolled devices", "登録済みのデバイス {0} 台") \
    X(ASM_F_DEVICE_RULES, "{0} posture rules in devices:", "devices: の状態ルール {0} 個") \
    X(ASM_F_DEVICE_RISK, "{0} enforced device-risk policies", "有効なデバイスリスクのポリシー {0} 個") \
    X(ASM_F_REPORT_ONLY, "{0} report-only policies not promoted", "有効化されていないレポート専用ポリシー {0} 個") \
    X(ASM_F_SIEM, "{0} SIEM sinks in audit.export", "audit.export の SIEM 送信先 {0} 個") \
    X(ASM_F_FEEDS, "{0} threat feeds in risk:", "risk: の脅威フィード {0} 個") \
    X(ASM_F_PLAYBOOKS, "{0} playbooks", "プレイブック {0} 個") \
    X(ASM_F_PLAYBOOKS_CONTAIN, "{0} playbooks that contain (revoke, isolate, disable)", "封じ込め(失効・隔離・無効化)を行うプレイブック {0} 個") \
    X(ASM_F_PASSKEYS_OFF, "auth.passkeys: false (passkeys are off)", "auth.passkeys: false(パスキーは無効)") \
    X(ASM_F_AUDIT_ON, "audit.path: set (audit log on)", "audit.path: 設定済み(監査ログ有効)") \
    X(ASM_F_AUDIT_OFF, "audit.path: not set (audit log off)", "audit.path: 未設定(監査ログ無効)") \
    X(ASM_F_FAIL_CLOSED, "audit.on_audit_failure: fail_closed (refuse when the log fails)", "audit.on_audit_failure: fail_closed(ログ障害時は拒否)") \
    X(ASM_F_FAIL_OPEN, "audit.on_audit_failure: fail_open (serve when the log fails)", "audit.on_audit_failure: fail_open(ログ障害時も通す)") \
    X(ASM_F_NOTIFY_SET, "incidents.notify: set", "incidents.notify: 設定済み") \
    X(ASM_F_NOTIFY_UNSET, "incidents.notify: not set", "incidents.notify: 未設定") \
    X(ASM_F_PROVISIONING_ON, "SCIM or a scheduled LDAP sync: on", "SCIM または定期的な LDAP 同期: 有効") \
    X(ASM_F_PROVISIONING_OFF, "no automatic provisioning", "自動プロビジョニングなし") \
    X(ASM_F_TRIAGE, "{0} open detections, {1} older than 7 days", "未対応の検出 {0} 件、うち 7 日より古いもの {1} 件") \
    X(ASM_F_FATIGUE, "{0} MFA prompts per user per day ({1} prompts, {2} users, most {3}, {4} days)", "ユーザー 1 人 1 日あたり MFA 要求 {0} 回(要求 {1} 回、ユーザー {2} 人、最多 {3} 回、{4} 日間)") \
    X(ASM_F_NO_REMEDIATION, "no closed detection; {0} open high", "完了した検出なし、未対応の高リスク {0} 件") \
    X(ASM_F_REMEDIATION, "median remediation {0} min over {1} detections; {2} open high", "修復時間の中央値 {0} 分(検出 {1} 件)、未対応の高リスク {2} 件") \
    X(ASM_SAVE, "Save answers", "回答を保存") \
    X(ASM_RUN_KEEP, "Run and keep", "評価して保存") \
    X(ASM_SAVED, "Assessment kept.", "評価を保存しました。") \
    X(ASM_ANSWERS_SAVED, "Answers saved.", "回答を保存しました。") \
    X(ASM_BAD_ANSWER, "Unknown question or answer.", "不明な質問または回答です。") \
    X(ASM_P_IDENTITY, "Identity", "アイデンティティ") \
    X(ASM_P_DEVICES, "Devices", "デバイス") \
    X(ASM_P_NETWORKS, "Networks", "ネットワーク") \
    X(ASM_P_APPLICATIONS, "Applications and workloads", "アプリケーションとワークロード") \
    X(ASM_P_DATA, "Data", "データ") \
    X(ASM_P_VISIBILITY, "Visibility and analytics", "可視化と分析") \
    X(ASM_P_AUTOMATION, "Automation and orchestration", "自動化とオーケストレーション") \
    X(ASM_S_TRADITIONAL, "Traditional", "従来型") \
    X(ASM_S_INITIAL, "Initial", "初期") \
    X(ASM_S_ADVANCED, "Advanced", "高度") \
    X(ASM_S_OPTIMAL, "Optimal", "最適") \
    X(ASM_Q_CLASSIFICATION, "How is data classified (labels such as confidential)?", "データはどのように分類されていますか(機密などのラベル)?") \
    X(ASM_Q_BACKUPS, "Are important data backed up off-site, and are restores tested?", "重要なデータは別の場所にバックアップされ、復元は試験されていますか?") \
    X(ASM_Q_ENCRYPTION, "Are data encrypted at rest (disks, databases, backups)?", "保存データ(ディスク、データベース、バックアップ)は暗号化されていますか?") \
    X(ASM_Q_SEGMENTATION, "How is the network segmented outside ztgate?", "ztgate の外側でネットワークはどのように分割されていますか?") \
    X(ASM_Q_LOG_REVIEW, "Who reviews the audit log and the alerts?", "監査ログとアラートは誰が確認していますか?") \
    X(ASM_Q_TRAINING, "Are staff trained against phishing and fraud?", "職員はフィッシングや詐欺への対策研修を受けていますか?") \
    X(ASM_A_CLASS_NONE, "not classified", "分類していない") \
    X(ASM_A_CLASS_MANUAL, "labels defined and applied by hand", "ラベルを定義し手作業で付与") \
    X(ASM_A_CLASS_AUTO, "labelled automatically", "自動でラベル付け") \
    X(ASM_A_BACKUP_NONE, "no off-site backup", "別の場所へのバックアップなし") \
    X(ASM_A_BACKUP_OFFSITE, "off-site backups", "別の場所にバックアップ") \
    X(ASM_A_BACKUP_TESTED, "off-site backups with restores tested", "別の場所にバックアップし復元も試験済み") \
    X(ASM_A_ENC_NONE, "not encrypted", "暗号化していない") \
    X(ASM_A_ENC_SOME, "some data encrypted", "一部を暗号化") \
    X(ASM_A_ENC_ALL, "all data encrypted", "すべて暗号化") \
    X(ASM_A_SEG_FLAT, "one flat network", "1 つのフラットなネットワーク") \
    X(ASM_A_SEG_MACRO, "a few segments (servers apart from staff)", "いくつかのセグメント(サーバーと職員端末を分離)") \
    X(ASM_A_SEG_MICRO, "micro-segmented per application", "アプリケーションごとのマイクロセグメンテーション") \
    X(ASM_A_REVIEW_NONE, "nobody reviews them", "誰も確認していない") \
    X(ASM_A_REVIEW_MANUAL, "reviewed by hand regularly", "定期的に手作業で確認") \
    X(ASM_A_REVIEW_AUTO, "analysed automatically (SIEM rules, alerts)", "自動で分析(SIEM のルールやアラート)") \
    X(ASM_A_TRAIN_NONE, "no training", "研修なし") \
    X(ASM_A_TRAIN_YEARLY, "yearly training", "年 1 回の研修") \
    X(ASM_A_TRAIN_CONT, "continuous training and phishing drills", "継続的な研修と訓練メール") \
    X(ASM_C_MFA_HALF, "At least half of the users have MFA", "半数以上の利用者が多要素認証を登録済み") \
    X(ASM_M_MFA_HALF, "Require MFA: users without a second factor enrol one at their next sign-in.", "多要素認証を必須にします。2 要素目のない利用者は次回サインイン時に登録します。") \
    X(ASM_C_TRAINING, "Staff are trained against phishing", "職員がフィッシング対策の研修を受けている") \
    X(ASM_M_TRAINING, "Train staff at least yearly against phishing and fraud, then record the answer.", "少なくとも年 1 回、フィッシングと詐欺への対策研修を行い、回答を記録します。") \
    X(ASM_C_MFA_ALL, "Nearly every user has MFA (95 in 100)", "ほぼすべての利用者が多要素認証を登録済み(100 人中 95 人)") \
    X(ASM_M_MFA_ALL, "Find the users who have not enrolled (they have not signed in since MFA became required) and help them enrol.", "未登録の利用者(多要素認証の必須化以降サインインしていない人)を見つけ、登録を支援します。") \
    X(ASM_C_RISK_POLICY, "Risk-based policies decide access", "リスクベースのポリシーでアクセスを判断している") \
    X(ASM_M_RISK_POLICY, "Ask MFA for risky sign-ins and a password change for high-risk users, so detections are remediated automatically.", "リスクのあるサインインには多要素認証を、高リスクの利用者にはパスワード変更を求め、検知が自動で是正されるようにします。") \
    X(ASM_C_ADMINS, "Administrators are named people with roles", "管理者が役割を持つ個人として登録されている") \
    X(ASM_M_ADMINS, "Replace the shared admin token with named administrators and least-privilege roles (help desk, security operator, auditor); every change then names the person.", "共有の管理トークンをやめ、最小権限の役割(ヘルプデスク、セキュリティ担当、監査役)を持つ個人の管理者にします。すべての変更に担当者が記録されます。") \
    X(ASM_C_PASSKEY_SOME, "Passkeys (phishing-resistant MFA) are in use", "パスキー(フィッシング耐性のある多要素認証)が使われている") \
    X(ASM_M_PASSKEY_SOME, "Turn passkeys on and start with the administrators: a Temporary Access Pass lets a user register a first passkey.", "パスキーを有効にし、まず管理者から始めます。一時アクセスパスで最初のパスキーを登録できます。") \
    X(ASM_C_PASSKEY_ALL, "Nearly every user has a passkey (95 in 100)", "ほぼすべての利用者がパスキーを登録済み(100 人中 95 人)") \
    X(ASM_M_PASSKEY_ALL, "Roll passkeys out to everyone: a report-only policy asking phishing-resistant MFA shows who is not ready yet.", "全員にパスキーを展開します。フィッシング耐性のある多要素認証を求めるレポート専用ポリシーで、未対応の利用者がわかります。") \
    X(ASM_C_PR_POLICY, "Every app requires phishing-resistant MFA", "すべてのアプリでフィッシング耐性のある多要素認証を必須にしている") \
    X(ASM_M_PR_POLICY, "Enforce phishing-resistant MFA for every app (keep a break-glass group excluded).", "すべてのアプリでフィッシング耐性のある多要素認証を強制します(緊急用グループは除外)。") \
    X(ASM_C_CONTINUOUS, "Sign-in is re-verified during the session", "セッション中にもサインインを再確認している") \
    X(ASM_M_CONTINUOUS, "Set a sign-in frequency for sensitive apps so identity is verified again, not only at first access.", "機密性の高いアプリにサインイン頻度を設定し、最初のアクセス時だけでなく再度本人確認を行います。") \
    X(ASM_C_DEV_ENROLLED, "Devices are enrolled and report their posture", "デバイスが登録され、状態を報告している") \
    X(ASM_M_DEV_ENROLLED, "Enrol devices with the agent: create an enrolment code per user.", "エージェントでデバイスを登録します。利用者ごとに登録コードを発行します。") \
    X(ASM_C_DEV_RULES, "Posture rules judge device compliance", "デバイスの準拠を判定する状態ルールがある") \
    X(ASM_M_DEV_RULES, "Switch on compliance rules: disk encryption, firewall, recent updates.", "準拠ルールを有効にします: ディスク暗号化、ファイアウォール、最近の更新。") \
    X(ASM_C_DEV_COMPLIANT, "Most enrolled devices are compliant (80 in 100)", "登録済みデバイスの大半が準拠している(100 台中 80 台)") \
    X(ASM_M_DEV_COMPLIANT, "Look at the non-compliant devices and their reasons, and fix them with their owners.", "非準拠のデバイスとその理由を確認し、利用者と一緒に修正します。") \
    X(ASM_C_DEV_POLICY_SOME, "Some apps require a compliant device", "一部のアプリで準拠デバイスを必須にしている") \
    X(ASM_M_DEV_POLICY_SOME, "Require a compliant device for confidential and restricted apps.", "機密・極秘のアプリで準拠デバイスを必須にします。") \
    X(ASM_C_DEV_POLICY_ALL, "Every app requires a compliant device", "すべてのアプリで準拠デバイスを必須にしている") \
    X(ASM_M_DEV_POLICY_ALL, "Extend the compliant-device requirement to every app: start in report-only mode to see who would be refused.", "準拠デバイスの要件をすべてのアプリに広げます。まずレポート専用で、拒否される人を確認します。") \
    X(ASM_C_DEV_RISK, "Device risk (malware alerts) blocks access", "デバイスのリスク(マルウェア警告)でアクセスを遮断している") \
    X(ASM_M_DEV_RISK, "Block devices whose risk is high (an antivirus alert or an isolation).", "リスクが高いデバイス(ウイルス警告や隔離中)を遮断します。") \
    X(ASM_C_LISTENER_TLS, "Every listener uses TLS", "すべての待ち受けで TLS を使っている") \
    X(ASM_M_LISTENER_TLS, "Serve users over HTTPS only: give every listener a tls: block.", "利用者には HTTPS だけで提供します。すべての待ち受けに tls: を設定します。") \
    X(ASM_C_SEGMENTATION, "The network is segmented", "ネットワークが分割されている") \
    X(ASM_M_SEGMENTATION, "Separate servers from staff devices so apps are reached only through ztgate, then record the answer.", "サーバーと職員端末を分け、アプリには ztgate 経由でのみ到達できるようにし、回答を記録します。") \
    X(ASM_C_UPSTREAM_TLS, "Traffic to every app is encrypted", "すべてのアプリへの通信が暗号化されている") \
    X(ASM_M_UPSTREAM_TLS, "Move plain http:// upstreams to https://, so the hop from ztgate to the app is encrypted too.", "平文の http:// の転送先を https:// にし、ztgate からアプリまでの区間も暗号化します。") \
    X(ASM_C_MICRO, "The network is micro-segmented", "ネットワークがマイクロセグメント化されている") \
    X(ASM_M_MICRO, "Isolate each application so only ztgate can reach it, then record the answer.", "アプリごとに分離し、ztgate だけが到達できるようにしてから回答を記録します。") \
    X(ASM_C_MTLS, "ztgate proves itself to every app (mutual TLS)", "すべてのアプリに対し ztgate が自身を証明している(相互 TLS)") \
    X(ASM_M_MTLS, "Give ztgate a client certificate for each https:// upstream and let the app accept only it.", "https:// の転送先ごとに ztgate のクライアント証明書を設定し、アプリはそれだけを受け入れるようにします。") \
    X(ASM_C_APP_POLICY, "Apps are behind an enforced access policy", "アプリが強制されたアクセスポリシーの内側にある") \
    X(ASM_M_APP_POLICY, "Add a policy asking MFA for every app and every user (keep a break-glass group excluded).", "すべてのアプリとすべての利用者に多要素認証を求めるポリシーを追加します(緊急用グループは除外)。") \
    X(ASM_C_APP_MFA, "Every app always requires MFA", "すべてのアプリで常に多要素認証を求めている") \
    X(ASM_M_APP_MFA, "Make MFA required for every app, not only some.", "一部ではなく、すべてのアプリで多要素認証を必須にします。") \
    X(ASM_C_REPORT_ONLY, "No report-only policy is left unpromoted", "レポート専用のまま残っているポリシーがない") \
    X(ASM_M_REPORT_ONLY, "Check each report-only policy's impact in the audit log (report_only.decision), then enforce it.", "レポート専用ポリシーの影響を監査ログ(report_only.decision)で確認し、強制に切り替えます。") \
    X(ASM_C_APP_RISK, "Every app is under a risk-based policy", "すべてのアプリがリスクベースのポリシーの対象") \
    X(ASM_M_APP_RISK, "Apply the risk-based policies to every app, so access follows the live risk of each sign-in.", "リスクベースのポリシーをすべてのアプリに適用し、サインインごとのリスクに応じてアクセスを判断します。") \
    X(ASM_C_LABELS, "Apps carry a sensitivity label", "アプリに機密度ラベルが付いている") \
    X(ASM_M_LABELS, "Label apps by the data they hold (public, internal, confidential, restricted) so policies can follow the label.", "扱うデータに応じてアプリにラベル(公開・社内・機密・極秘)を付け、ポリシーがラベルに従うようにします。") \
    X(ASM_C_CLASSIFICATION, "Data is classified", "データが分類されている") \
    X(ASM_M_CLASSIFICATION, "Define data labels and apply them, then record the answer.", "データのラベルを定義して付与し、回答を記録します。") \
    X(ASM_C_BACKUPS, "Data is backed up off-site", "データを別の場所にバックアップしている") \
    X(ASM_M_BACKUPS, "Back up important data off-site (ransomware cannot reach it), then record the answer.", "重要なデータを別の場所にバックアップし(ランサムウェアが届かない場所)、回答を記録します。") \
    X(ASM_C_DATA_PROTECTED, "Sensitive apps need a compliant device and restrict downloads", "機密アプリで準拠デバイスを求め、ダウンロードを制限している") \
    X(ASM_M_DATA_PROTECTED, "Protect confidential and restricted apps: a compliant device, and no downloads.", "機密・極秘のアプリを保護します: 準拠デバイスを必須にし、ダウンロードを禁止します。") \
    X(ASM_C_ENCRYPTION, "All data is encrypted at rest", "すべての保存データが暗号化されている") \
    X(ASM_M_ENCRYPTION, "Encrypt disks, databases and backups, then record the answer.", "ディスク、データベース、バックアップを暗号化し、回答を記録します。") \
    X(ASM_C_BACKUPS_TESTED, "Restores from backup are tested", "バックアップからの復元を試験している") \
    X(ASM_M_BACKUPS_TESTED, "Test a restore at least twice a year, then record the answer.", "少なくとも年 2 回は復元を試験し、回答を記録します。") \
    X(ASM_C_CLASS_AUTO, "Data is labelled automatically", "データに自動でラベルが付く") \
    X(ASM_M_CLASS_AUTO, "Label data automatically (a DLP or labelling tool), then record the answer.", "データに自動でラベルを付け(DLP やラベル付けツール)、回答を記録します。") \
    X(ASM_C_AUDIT_ON, "Every decision is in the audit log", "すべての判断が監査ログに記録されている") \
    X(ASM_M_AUDIT_ON, "Turn the tamper-evident audit log on.", "改ざん検知付きの監査ログを有効にします。") \
    X(ASM_C_FAIL_CLOSED, "Requests stop when the audit log cannot be written", "監査ログに書けない時はリクエストを止める") \
    X(ASM_M_FAIL_CLOSED, "Fail closed: no access without its audit record.", "フェイルクローズにします: 監査記録なしのアクセスを許しません。") \
    X(ASM_C_LOG_REVIEW, "Someone reviews the audit log", "誰かが監査ログを確認している") \
    X(ASM_M_LOG_REVIEW, "Review blocks, detections and incidents at least weekly (ztgate audit search), then record the answer.", "遮断、検知、インシデントを少なくとも週 1 回確認し(ztgate audit search)、回答を記録します。") \
    X(ASM_C_SIEM, "Records go to a SIEM", "記録を SIEM に送っている") \
    X(ASM_M_SIEM, "Export every record to your SIEM or log server, to correlate it with other sources.", "すべての記録を SIEM やログサーバーに送り、他の情報源と突き合わせます。") \
    X(ASM_C_FEEDS, "Threat feeds inform risk", "脅威フィードをリスク判定に使っている") \
    X(ASM_M_FEEDS, "Give Identity Protection threat feeds: anonymous and malicious addresses, leaked credentials.", "ID 保護に脅威フィードを与えます: 匿名・悪性のアドレス、漏えいした認証情報。") \
    X(ASM_C_TRIAGE, "No detection is left open for more than 7 days", "7 日を超えて未対応の検知がない") \
    X(ASM_M_TRIAGE, "Review the open detections: dismiss, remediate or confirm each one.", "未対応の検知を確認し、それぞれ却下、是正、侵害確定のいずれかにします。") \
    X(ASM_C_FATIGUE, "Users see few MFA prompts (at most 3 a day)", "多要素認証の要求が少ない(1 日 3 回以下)") \
    X(ASM_M_FATIGUE, "Too many prompts train users to approve any: prefer passkeys and sensible session lifetimes.", "要求が多すぎると何でも承認する癖がつきます。パスキーと適切なセッション期間を優先します。") \
    X(ASM_C_REVIEW_AUTO, "Logs are analysed automatically", "ログを自動で分析している") \
    X(ASM_M_REVIEW_AUTO, "Analyse the exported records automatically (SIEM rules and alerts), then record the answer.", "送った記録を自動で分析し(SIEM のルールとアラート)、回答を記録します。") \
    X(ASM_C_PLAYBOOK, "Playbooks respond to detections", "検知に対応するプレイブックがある") \
    X(ASM_M_PLAYBOOK, "Add a playbook that answers a stolen password: revoke sessions, require a password change, open an incident.", "盗まれたパスワードに対応するプレイブックを追加します: セッション失効、パスワード変更の要求、インシデント作成。") \
    X(ASM_C_CONTAIN, "Playbooks contain threats automatically", "プレイブックが脅威を自動で封じ込める") \
    X(ASM_M_CONTAIN, "Isolate a device automatically when malware is found, and release it when resolved.", "マルウェアを検知したらデバイスを自動で隔離し、解決したら解除します。") \
    X(ASM_C_NOTIFY, "Incidents notify the responders", "インシデントを担当者に通知している") \
    X(ASM_M_NOTIFY, "Send incidents to a webhook (chat, ticketing) so someone acts on them.", "インシデントを Webhook(チャット、チケット)に送り、誰かが対応できるようにします。") \
    X(ASM_C_PROVISIONING, "Accounts are provisioned automatically", "アカウントを自動で作成・削除している") \
    X(ASM_M_PROVISIONING, "Provision accounts from your directory (SCIM or a scheduled LDAP sync) so leavers lose access at once.", "ディレクトリからアカウントを自動で管理し(SCIM または定期的な LDAP 同期)、退職者がすぐにアクセスを失うようにします。") \
    X(ASM_C_AUTO_SHARE, "Most responses are automated", "対応の大半が自動化されている") \
    X(ASM_M_AUTO_SHARE, "Let playbooks take the first response to high risk, so admins only confirm.", "高リスクへの初動をプレイブックに任せ、管理者は確認だけにします。") \
    X(ASM_C_REMEDIATION, "Detections are remediated within an hour", "検知が 1 時間以内に是正される") \
    X(ASM_M_REMEDIATION, "Let risk-based policies remediate (MFA, password change) as the user signs in, and leave no high detection open.", "リスクベースのポリシーでサインイン時に是正(多要素認証、パスワード変更)させ、高リスクの検知を残さないようにします。")
/* clang-format on */

#endif
