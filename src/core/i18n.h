/* The message catalogue: every text a person sees on a ztgate page (gateway refusals, the
 * portal's sign-in pages, the device enrolment page, device findings), in English and Japanese,
 * chosen from Accept-Language. One table in three sections, one enum, one lookup: a missing
 * translation is a compile-time gap (every row has both), and tests/unit/test_i18n.c renders
 * every page in Japanese and checks that no English catalogue text is left in it. */
#ifndef ZT_CORE_I18N_H
#define ZT_CORE_I18N_H

#include <stddef.h>

typedef enum zt_lang { ZT_LANG_EN = 0, ZT_LANG_JA, ZT_LANG_COUNT } zt_lang;

/* clang-format off */

/* Gateway pages: errors, block, step-up and restriction pages, their reasons and remedies, and
 * device findings shown on them. MSG_NONE (first, empty) means "no message" where one is
 * optional. */
#define ZT_GATEWAY_MESSAGES(X)                                                                                                \
    X(MSG_NONE, "", "")                                                                                                       \
    X(MSG_BAD_REQUEST_TITLE, "Bad request", "不正なリクエスト")                                                                       \
    X(MSG_BAD_REQUEST_BODY, "The request could not be understood by the gateway.",                                            \
      "ゲートウェイはこのリクエストを解釈できませんでした。")                                                                                           \
    X(MSG_NOT_FOUND_TITLE, "No application here", "アプリケーションが見つかりません")                                                         \
    X(MSG_NOT_FOUND_BODY,                                                                                                     \
      "This address is not an application published through this gateway. Check the link, or "                                \
      "ask your administrator which address to use.",                                                                         \
      "このアドレスはゲートウェイで公開されているアプリケーションではありません。リンクを確認す"                                                                          \
      "るか、管理者に正しいアドレスをお問い合わせください。")                                                                                           \
    X(MSG_BAD_GATEWAY_TITLE, "Application unavailable", "アプリケーションに接続できません")                                                   \
    X(MSG_BAD_GATEWAY_BODY,                                                                                                   \
      "The gateway could not reach the application. Try again in a moment; if it keeps "                                      \
      "happening, tell your administrator and quote the reference below.",                                                    \
      "ゲートウェイからアプリケーションに接続できませんでした。しばらくしてから再度お試しくださ"                                                                          \
      "い。繰り返し発生する場合は、下記の参照番号を添えて管理者にご連絡ください。")                                                                                \
    X(MSG_TIMEOUT_TITLE, "Application timed out", "アプリケーションが応答しません")                                                          \
    X(MSG_TIMEOUT_BODY,                                                                                                       \
      "The application did not answer in time. Try again in a moment; if it keeps happening, "                                \
      "tell your administrator and quote the reference below.",                                                               \
      "アプリケーションが時間内に応答しませんでした。しばらくしてから再度お試しください。繰り返"                                                                          \
      "し発生する場合は、下記の参照番号を添えて管理者にご連絡ください。")                                                                                     \
    X(MSG_TOO_LARGE_TITLE, "Request too large", "リクエストが大きすぎます")                                                               \
    X(MSG_TOO_LARGE_BODY, "The request is larger than this gateway accepts.",                                                 \
      "リクエストがゲートウェイの上限を超えています。")                                                                                              \
    X(MSG_UNAVAILABLE_TITLE, "Service unavailable", "サービスを利用できません")                                                           \
    X(MSG_UNAVAILABLE_BODY,                                                                                                   \
      "The gateway cannot serve this request right now. Try again in a moment.",                                              \
      "ゲートウェイは現在このリクエストを処理できません。しばらくしてから再度お試しください。")                                                                          \
    X(MSG_REASON, "Reason", "理由")                                                                                             \
    X(MSG_REFERENCE, "Reference", "参照番号")                                                                                     \
    X(MSG_FOOTER, "Protected by ztgate", "ztgate により保護されています")                                                                \
    X(MSG_BLOCKED_TITLE, "Access blocked", "アクセスがブロックされました")                                                                  \
    X(MSG_BLOCKED_BODY, "Your organisation's access policy does not allow this request.",                                     \
      "組織のアクセスポリシーにより、このリクエストは許可されていません。")                                                                                    \
    X(MSG_READ_ONLY_BODY,                                                                                                     \
      "This application is read-only for you right now: changes cannot be made from this "                                    \
      "session.",                                                                                                             \
      "現在このアプリケーションは読み取り専用です。このセッションからは変更できません。")                                                                             \
    X(MSG_NO_DOWNLOAD_BODY,                                                                                                   \
      "Downloading files from this application is not allowed from this session.",                                            \
      "このセッションからは、このアプリケーションのファイルをダウンロードできません。")                                                                              \
    X(MSG_POLICY, "Policy", "ポリシー")                                                                                           \
    X(MSG_WHAT_TO_DO, "What you can do", "対処方法")                                                                              \
    X(MSG_DO_CONTACT_ADMIN,                                                                                                   \
      "If you think this is a mistake, contact your administrator and quote the reference below.",                            \
      "誤りと思われる場合は、下記の参照番号を添えて管理者にお問い合わせください。")                                                                                \
    X(MSG_DO_COMPLIANT_DEVICE,                                                                                                \
      "Use a device your organisation has enrolled and that passes its health checks, then try "                              \
      "again.",                                                                                                               \
      "組織に登録され、健全性チェックに合格しているデバイスから再度お試しください。")                                                                               \
    X(MSG_DO_CHANGE_PASSWORD, "Change your password, then try again.",                                                        \
      "パスワードを変更してから、再度お試しください。")                                                                                              \
    X(MSG_DO_PASSKEY, "Sign in with a passkey or a security key, then try again.",                                            \
      "パスキーまたはセキュリティキーでサインインしてから、再度お試しください。")                                                                                 \
    X(MSG_DO_OTHER_NETWORK, "Try again from a network or place your organisation allows.",                                    \
      "組織が許可しているネットワークまたは場所から再度お試しください。")                                                                                     \
    X(MSG_CHANGE_PASSWORD_LINK, "Change password", "パスワードを変更")                                                                \
    X(MSG_ENROL_DEVICE_LINK, "Enrol this device", "このデバイスを登録")                                                                 \
    X(MSG_SIGN_IN_AGAIN_LINK, "Sign in again", "再度サインイン")                                                                     \
    X(MSG_PASSWORD_CHANGE_TITLE, "Change your password to continue", "続行するにはパスワードを変更してください")                                  \
    X(MSG_PASSWORD_CHANGE_BODY,                                                                                               \
      "Your organisation requires a new password for your account before you can use this application.",                      \
      "このアプリケーションを使う前に、アカウントのパスワードを変更する必要があります。")                                                                             \
    X(MSG_DEVICE_TITLE, "A trusted device is needed", "信頼済みデバイスが必要です")                                                        \
    X(MSG_DEVICE_BODY,                                                                                                        \
      "This application can only be used from a device your organisation has enrolled and that passes its security checks.",  \
      "このアプリケーションは、組織に登録され、セキュリティチェックに合格しているデバイスからのみ利用できます。")                                                                 \
    X(MSG_PASSKEY_TITLE, "A stronger sign-in is needed", "より強固なサインインが必要です")                                                   \
    X(MSG_PASSKEY_BODY,                                                                                                       \
      "This application needs a phishing-resistant sign-in, with a passkey or a security key.",                               \
      "このアプリケーションには、パスキーまたはセキュリティキーによるフィッシング耐性のあるサインインが必要です。")                                                                \
    X(MSG_PASSKEY_MODEL_BODY,                                                                                                 \
      "This application accepts only certain models of passkey or security key, and the one this session used is not one of them.", \
      "このアプリケーションは特定の機種のパスキーまたはセキュリティキーのみを受け付けます。このセッションで使われたものは対象外です。")                         \
    X(MSG_DO_PASSKEY_MODEL,                                                                                                   \
      "Sign in with a security key your organisation issued for this application, or ask your administrator which keys it accepts.", \
      "組織がこのアプリケーション用に配布したセキュリティキーでサインインするか、使えるキーを管理者に確認してください。")                                 \
    X(MSG_REQUIREMENT_TITLE, "Access requirement not met", "アクセス要件を満たしていません")                                                 \
    X(MSG_REQUIREMENT_BODY,                                                                                                   \
      "Your organisation's access policy asks for something this session cannot provide.",                                    \
      "組織のアクセスポリシーが求める条件を、このセッションでは満たせません。")                                                                                  \
    X(MSG_READ_ONLY_TITLE, "Read-only access", "読み取り専用のアクセスです")                                                               \
    X(MSG_NO_DOWNLOAD_TITLE, "Download not allowed", "ダウンロードは許可されていません")                                                      \
    X(MSG_AUDIT_UNAVAILABLE_BODY,                                                                                             \
      "The gateway cannot record this request in its audit log right now, so it refuses it. Try again in a moment.",          \
      "ゲートウェイは現在このリクエストを監査ログに記録できないため、リクエストを拒否しました。しばらくしてから再度お試しください。")                                                       \
    X(MSG_WHY_POLICY_BLOCK, "A policy of your organisation blocks this access.",                                              \
      "組織のポリシーによって、このアクセスはブロックされています。")                                                                                       \
    X(MSG_WHY_NO_DEVICE,                                                                                                      \
      "This browser is not tied to an enrolled device, or the device is not known to the gateway.",                           \
      "このブラウザーは登録済みのデバイスに関連付けられていないか、デバイスがゲートウェイに認識されていません。")                                                                 \
    X(MSG_WHY_DEVICE_RISK, "A security alert is open on this device.",                                                        \
      "このデバイスでセキュリティアラートが発生しています。")                                                                                           \
    X(MSG_DEV_REVOKED, "This device's enrolment was revoked.",                                                                \
      "このデバイスの登録は取り消されました。")                                                                                                  \
    X(MSG_DEV_MALWARE,                                                                                                        \
      "Malware was found on this device: let the agent quarantine it and rescan, then try again.",                            \
      "このデバイスでマルウェアが検出されました。エージェントに隔離させて再スキャンしてから、再度お試しください。")                                                                \
    X(MSG_DEV_OS_VERSION,                                                                                                     \
      "The operating system is older than your organisation requires, or its version cannot be checked: update it.",          \
      "オペレーティングシステムが組織の要求より古いか、バージョンを確認できません。更新してください。")                                                                      \
    X(MSG_DEV_DISK_ENCRYPTION, "Disk encryption is off or unknown: encrypt the system disk.",                                 \
      "ディスク暗号化が無効か、状態が不明です。システムディスクを暗号化してください。")                                                                              \
    X(MSG_DEV_FIREWALL, "The firewall is off or its state is unknown: turn it on.",                                           \
      "ファイアウォールが無効か、状態が不明です。有効にしてください。")                                                                                      \
    X(MSG_DEV_AV_SIGNATURES,                                                                                                  \
      "Antivirus signatures are out of date or their age is unknown: update them (for ClamAV, run freshclam).",               \
      "ウイルス対策の定義ファイルが古いか、更新日時が不明です。更新してください（ClamAV の場合は freshclam を実行）。")                                                     \
    X(MSG_DEV_ANTIVIRUS, "No antivirus engine is reported on this device.",                                                   \
      "このデバイスではウイルス対策エンジンが報告されていません。")                                                                                        \
    X(MSG_DEV_UPDATES,                                                                                                        \
      "Package updates are overdue or their time is unknown: install updates.",                                               \
      "パッケージの更新が遅れているか、更新日時が不明です。更新をインストールしてください。")                                                                           \
    X(MSG_DEV_NO_REPORT, "The device has not sent a posture report yet: check that ztagent runs.",                           \
      "デバイスはまだセキュリティ状態を報告していません。ztagent が動作していることを確認してください。")                                                                 \
    X(MSG_DEV_STALE, "The device has not reported recently: check that ztagent runs.",                                        \
      "デバイスから最近の報告がありません。ztagent が動作していることを確認してください。")                                                                        \
    X(MSG_DEV_OTHER, "The device does not meet a security requirement of your organisation.",                                 \
      "デバイスが組織のセキュリティ要件を満たしていません。")

/* Portal pages under /.ztgate/: sign-in, MFA, TOTP enrolment, password, sign-out, account. */
#define ZT_PORTAL_MESSAGES(X)                                                                       \
    X(PM_TITLE_SIGN_IN, "Sign in", "サインイン")                                                         \
    X(PM_INTRO_SIGN_IN, "Sign in with your organisation account to continue.",                      \
      "続行するには、組織のアカウントでサインインしてください。")                                                               \
    X(PM_LABEL_USERNAME, "Email address", "メールアドレス")                                                \
    X(PM_LABEL_PASSWORD, "Password", "パスワード")                                                       \
    X(PM_BUTTON_SIGN_IN, "Sign in", "サインイン")                                                        \
    X(PM_ERR_SIGN_IN,                                                                               \
      "The email address or password is incorrect, or this account cannot sign in right now.",      \
      "メールアドレスまたはパスワードが正しくないか、このアカウントは現在サインインできません。")                                               \
    X(PM_TITLE_TOO_MANY, "Too many attempts", "試行回数が多すぎます")                                         \
    X(PM_BODY_TOO_MANY,                                                                             \
      "There have been too many failed attempts from your network. Wait a minute and try again.",   \
      "お使いのネットワークからの失敗した試行が多すぎます。1 分ほど待ってから再度お試しください。")                                             \
    /* throttle: "BEFORE" N "AFTER" seconds to wait */                                          \
    X(PM_WAIT_BEFORE, "Too many sign-in attempts. Please wait ",                                   \
      "サインインの試行回数が多すぎます。")                                                        \
    X(PM_WAIT_AFTER, " seconds, then try again.", " 秒待ってから、もう一度お試しください。")      \
    X(PM_WAIT_AFTER_ONE, " second, then try again.", " 秒待ってから、もう一度お試しください。")   \
    X(PM_TITLE_MFA, "Verification code", "確認コード")                                                   \
    X(PM_INTRO_MFA,                                                                                 \
      "Enter the 6-digit code from your authenticator app, or one of your recovery codes.",         \
      "認証アプリに表示されている 6 桁のコード、または回復コードのいずれかを入力してください。")                                              \
    X(PM_LABEL_CODE, "Code", "コード")                                                                 \
    X(PM_BUTTON_VERIFY, "Verify", "確認")                                                             \
    X(PM_ERR_CODE,                                                                                  \
      "That code is not valid. Each code works only once: wait for the next one and try again.",    \
      "コードが正しくありません。各コードは一度しか使えません。次のコードが表示されるまで待って"                                                \
      "から、再度お試しください。")                                                                              \
    X(PM_TITLE_ENROL, "Set up two-step verification", "2 段階認証の設定")                                  \
    X(PM_INTRO_ENROL,                                                                               \
      "Scan this QR code with an authenticator app (for example Google Authenticator or "           \
      "Microsoft Authenticator), then enter the 6-digit code it shows.",                            \
      "認証アプリ（Google Authenticator や Microsoft Authenticator など）でこの QR コードを読み"                       \
      "取り、表示された 6 桁のコードを入力してください。")                                                                 \
    X(PM_ENROL_MANUAL, "Cannot scan the code? Enter this key in the app instead:",                  \
      "QR コードを読み取れない場合は、代わりに次のキーをアプリに入力してください：")                                                    \
    X(PM_ENROL_LINK, "Open in an authenticator app on this device",                                 \
      "この端末の認証アプリで開く")                                                                              \
    X(PM_ERR_ENROL_EXPIRED, "This set-up page has expired. Please start again.",                    \
      "この設定ページの有効期限が切れました。最初からやり直してください。")                                                          \
    X(PM_TITLE_RECOVERY, "Save your recovery codes", "回復コードを保存してください")                              \
    X(PM_INTRO_RECOVERY,                                                                            \
      "Two-step verification is now on. If you lose your phone, each of these codes lets you "      \
      "sign in once. Keep them somewhere safe now: they will not be shown again.",                  \
      "2 段階認証が有効になりました。スマートフォンを紛失した場合は、これらのコードでそれぞれ "                                               \
      "1 回ずつサインインできます。今すぐ安全な場所に保管してください。再表示はされません。")                                                \
    X(PM_CONTINUE, "Continue", "続行")                                                                \
    X(PM_TITLE_PASSWORD, "Change password", "パスワードの変更")                                             \
    X(PM_LABEL_CURRENT, "Current password", "現在のパスワード")                                             \
    X(PM_LABEL_NEW, "New password", "新しいパスワード")                                                     \
    X(PM_LABEL_CONFIRM, "New password again", "新しいパスワード（確認用）")                                      \
    X(PM_PASSWORD_HINT,                                                                             \
      "Choose a long passphrase that you do not use anywhere else. Minimum number of characters:",  \
      "他で使っていない、長めのパスフレーズを設定してください。最小文字数：")                                                         \
    X(PM_BUTTON_CHANGE, "Change password", "パスワードを変更")                                              \
    X(PM_ERR_CURRENT, "The current password is incorrect.", "現在のパスワードが正しくありません。")                   \
    X(PM_ERR_MISMATCH, "The two new passwords do not match.",                                       \
      "入力された新しいパスワードが一致しません。")                                                                      \
    X(PM_ERR_TOO_SHORT, "The new password is too short.", "新しいパスワードが短すぎます。")                        \
    X(PM_ERR_TOO_LONG, "The new password is too long.", "新しいパスワードが長すぎます。")                          \
    X(PM_ERR_BREACHED,                                                                              \
      "This password has appeared in a data breach and cannot be used. Please choose another.",     \
      "このパスワードは過去の情報漏えいで流出しているため使用できません。別のパスワードを選んで"                                                \
      "ください。")                                                                                      \
    X(PM_ERR_INVALID_PW, "The new password contains characters that cannot be used.",               \
      "新しいパスワードに使用できない文字が含まれています。")                                                                 \
    X(PM_TITLE_PASSWORD_CHANGED, "Password changed", "パスワードを変更しました")                                \
    X(PM_BODY_PASSWORD_CHANGED,                                                                     \
      "Your password has been changed, and every other session of your account has been ended.",    \
      "パスワードを変更しました。このアカウントの他のセッションはすべて終了しました。")                                                    \
    X(PM_TITLE_LOGOUT, "Sign out", "サインアウト")                                                        \
    X(PM_INTRO_LOGOUT, "Do you want to sign out?", "サインアウトしますか？")                                   \
    X(PM_BUTTON_SIGN_OUT, "Sign out", "サインアウト")                                                     \
    X(PM_TITLE_SIGNED_OUT, "You are signed out", "サインアウトしました")                                      \
    X(PM_BODY_SIGNED_OUT,                                                                           \
      "You have been signed out. On a shared computer, also close the browser.",                    \
      "サインアウトしました。共用のコンピューターをお使いの場合は、ブラウザーも閉じてください。")                                               \
    X(PM_SIGN_OUT_EVERYWHERE, "Sign out of the sign-in portal too",                                 \
      "サインインポータルからもサインアウトする")                                                                       \
    X(PM_SIGN_IN_AGAIN, "Sign in again", "もう一度サインインする")                                             \
    X(PM_TITLE_LINK_EXPIRED, "This sign-in link has expired", "サインイン用リンクの有効期限切れ")                   \
    X(PM_BODY_LINK_EXPIRED,                                                                         \
      "The link that signs you in to this application has expired or has already been used. "       \
      "Sign in again to continue.",                                                                 \
      "このアプリケーションにサインインするためのリンクは、有効期限が切れているか、すでに使用さ"                                                \
      "れています。続行するには、もう一度サインインしてください。")                                                              \
    X(PM_TITLE_ACCOUNT, "Your account", "アカウント")                                                    \
    X(PM_ACCOUNT_SIGNED_IN_AS, "Signed in as", "サインイン中のアカウント")                                      \
    X(PM_ACCOUNT_MFA_ON, "Two-step verification: on", "2 段階認証：有効")                                  \
    X(PM_ACCOUNT_MFA_OFF, "Two-step verification: not set up", "2 段階認証：未設定")                        \
    X(PM_LINK_TOTP_AGAIN, "Set up a new authenticator app", "新しい認証アプリを設定する")                        \
    X(PM_NOT_SIGNED_IN, "You are not signed in.", "サインインしていません。")                                   \
    X(PM_RISK_ACCOUNT, "Your account is at risk — change your password.",                           \
      "アカウントが危険にさらされています。パスワードを変更してください。")                                                          \
    X(PM_TITLE_RISK_BLOCKED, "Sign-in blocked", "サインインがブロックされました")                                  \
    X(PM_BODY_RISK_BLOCKED,                                                                         \
      "This sign-in looks risky, and your account has no second factor to confirm that it is "      \
      "you. Contact your administrator.",                                                           \
      "このサインインには危険性があり、ご本人であることを確認する 2 段階認証がアカウントに設定"                                               \
      "されていません。管理者に連絡してください。")                                                                      \
    X(PM_TITLE_DIRECTORY_DOWN, "Directory unavailable", "ディレクトリに接続できません")                      \
    X(PM_BODY_DIRECTORY_DOWN,                                                                       \
      "Your organisation's directory cannot be reached, so your password cannot be checked now. "   \
      "If you are already signed in, you can go on working. Try again in a few minutes; if it "     \
      "goes on, contact your administrator.",                                                       \
      "組織のディレクトリ (LDAP / Active Directory) に接続できないため、現在パスワードを確認できません。"        \
      "サインイン済みの場合はそのまま作業を続けられます。数分後にもう一度お試しください。解決しない場合は"            \
      "管理者に連絡してください。")                                                                     \
    X(PM_TITLE_DATABASE_DOWN, "Sign-in unavailable", "サインインを一時的に利用できません")                 \
    X(PM_BODY_DATABASE_DOWN,                                                                        \
      "The sign-in service cannot reach its database right now, so nobody can sign in. If you are " \
      "already signed in, you can go on working for a while. Try again in a few minutes; if it "    \
      "goes on, contact your administrator.",                                                       \
      "サインイン サービスが現在データベースに接続できないため、サインインできません。"                                    \
      "サインイン済みの場合は、しばらくそのまま作業を続けられます。数分後にもう一度お試しください。"                          \
      "解決しない場合は管理者に連絡してください。")                                                               \
    X(PM_ERR_DIRECTORY_PASSWORD,                                                                    \
      "Your password is your organisation's directory password: change it there (for example "     \
      "with Ctrl+Alt+Del on a Windows PC), not here.",                                              \
      "このアカウントのパスワードは組織のディレクトリのパスワードです。ここではなく、ディレクトリ側"                      \
      "（Windows PC の Ctrl+Alt+Del など）で変更してください。")                                              \
    X(PM_TITLE_FORBIDDEN, "Request refused", "リクエストが拒否されました")                                       \
    X(PM_BODY_CSRF,                                                                                 \
      "This form has expired or was sent from another site. Go back, reload the page and try "      \
      "again.",                                                                                     \
      "このフォームは有効期限が切れているか、別のサイトから送信されました。前のページに戻り、"                                                 \
      "ページを再読み込みしてから再度お試しください。")                                                                    \
    X(PM_TITLE_BAD_REQUEST, "Bad request", "不正なリクエスト")                                              \
    X(PM_BODY_BAD_FORM,                                                                             \
      "The form could not be read: a field is missing, repeated, malformed or too long.",           \
      "フォームを読み取れませんでした。項目が不足しているか、重複しているか、形式が正しくないか、"                                               \
      "長すぎます。")                                                                                     \
    X(PM_TITLE_UNSUPPORTED, "Unsupported form", "対応していない形式です")                                      \
    X(PM_BODY_UNSUPPORTED, "Forms must be sent as application/x-www-form-urlencoded.",              \
      "フォームは application/x-www-form-urlencoded 形式で送信してください。")                                       \
    X(PM_TITLE_NOT_FOUND, "Page not found", "ページが見つかりません")                                          \
    X(PM_BODY_NOT_FOUND, "There is no ztgate page at this address.",                                \
      "このアドレスには ztgate のページがありません。")                                                                \
    X(PM_TITLE_METHOD, "Method not allowed", "許可されていないメソッドです")                                      \
    X(PM_BODY_METHOD, "This page does not accept this kind of request.",                            \
      "このページはこの種類のリクエストを受け付けていません。")                                                                \
    X(PM_TITLE_UNAVAILABLE, "Service unavailable", "サービスを利用できません")                                  \
    X(PM_BODY_UNAVAILABLE, "Sign-in is busy right now. Wait a moment and try again.",               \
      "現在サインインが混み合っています。しばらく待ってから再度お試しください。")                                                    \
    X(PM_TAP_NOTICE,                                                                                \
      "You signed in with a temporary access pass. It only lets you set up a sign-in method: "      \
      "add a passkey (the link below) or set up an authenticator app. Other pages and apps open " \
      "once you sign in again with "   \
      "the new method.",                                                                            \
      "一時アクセスパスでサインインしました。このパスで行えるのはサインイン方法の設定だけです。"                                                \
      "下のリンクからパスキーを追加するか、認証アプリを設定してください。新しい方法でもう一度サインインすると、ほかのページ"                                                \
      "やアプリを利用できます。")                                                                              \
    X(PM_TAP_DONE,                                                                                  \
      "Your authenticator app is set up and the temporary access pass session has ended. Sign in "  \
      "again with your password and a code from the app.",                                          \
      "認証アプリの設定が完了し、一時アクセスパスのセッションは終了しました。パスワードとアプリの"                                                \
      "コードで、もう一度サインインしてください。")                                                                    \
    X(PM_LOGIN_TAP_HINT,                                                                            \
      "Were you given a temporary access pass? Type it in the password field.",                     \
      "一時アクセスパスを受け取った場合は、パスワード欄に入力してください。")

/* The device enrolment page (/.ztgate/device/enroll). */
#define ZT_DEVICE_MESSAGES(X)                                                                     \
    X(DM_TITLE, "Enrol a device", "デバイスの登録")                                                      \
    X(DM_INTRO,                                                                                   \
      "To use apps that need a trusted device, install ztagent on the device and enrol it with "  \
      "a one-time code. The code works once and only for your account.",                          \
      "信頼済みデバイスが必要なアプリを使うには、デバイスに ztagent をインストールし、ワンタイム"                                         \
      "コードで登録してください。コードは一度だけ、あなたのアカウントでのみ使えます。")                                                  \
    X(DM_BUTTON, "Get an enrolment code", "登録コードを発行")                                             \
    X(DM_CODE_LABEL, "Your enrolment code:", "登録コード：")                                            \
    X(DM_VALID_PRE, "It is valid for ", "有効期間は ")                                                 \
    X(DM_VALID_POST, " minutes and works once.", " 分で、一度だけ使えます。")                                 \
    X(DM_RUN, "On the device, run:", "デバイスで次のコマンドを実行してください：") \
    X(DM_HTTP_NOTE,                                                                                \
      "This page was opened over plain HTTP, so it cannot vouch for the gateway's certificate: "   \
      "open it over HTTPS for a complete command, or ask your administrator for the gateway's CA " \
      "file and put its path in place of GATEWAY-CA.pem.",                                         \
      "このページは暗号化されていない HTTP で開かれているため、ゲートウェイの証明書を保証できま" \
      "せん。完全なコマンドを表示するには HTTPS で開き直すか、管理者からゲートウェイの CA ファイ" \
      "ルを受け取り、GATEWAY-CA.pem をそのパスに置き換えてください。")                                     \
    X(DM_AFTER,                                                                                   \
      "The device then reports its security settings. If an app refuses it, the block page "      \
      "says what to fix.",                                                                        \
      "その後、デバイスはセキュリティ設定を報告します。アプリに拒否された場合は、ブロック画面に"                                              \
      "修正すべき点が表示されます。")                                                                           \
    X(DM_ANOTHER, "Get another code", "別のコードを発行")                                                 \
    X(DM_FAILED, "The code could not be made. Try again in a moment.",                            \
      "コードを発行できませんでした。しばらくしてから再度お試しください。")                                                        \
    X(DM_CONTINUE_HINT,                                                                           \
      "When the device is enrolled, come back here in this browser to tie the browser to it.",    \
      "デバイスの登録が済んだら、このブラウザーでこのページに戻り、ブラウザーをデバイスに"                                                 \
      "関連付けてください。")                                                                               \
    X(DM_CONTINUE, "Done — continue", "完了 — 続ける")                                                 \
    X(DM_WAITING,                                                                                 \
      "The device has not enrolled with your code yet. Run the command on the device, then "      \
      "continue.",                                                                                \
      "デバイスはまだコードで登録されていません。デバイスでコマンドを実行してから続けてください。")                                            \
    X(DM_BOUND_PRE, "This browser is now tied to the device ", "このブラウザーはデバイス ")                   \
    X(DM_BOUND_POST,                                                                              \
      ". Apps that need a compliant device accept it while the device stays compliant.",          \
      " に関連付けられました。デバイスが準拠している間、準拠デバイスが必要なアプリを使えます。")

/* The self-service security page (/.ztgate/security): its sections, columns, buttons, the one-line
 * results after an action and its refusals. */
#define ZT_SECURITY_MESSAGES(X) \
    X(SM_TITLE, "Security info", "セキュリティ情報") \
    X(SM_INTRO, "How you sign in, where you are signed in, your devices and your recent sign-ins.", "サインイン方法、サインイン中のセッション、デバイス、最近のサインインを確認できます。") \
    X(SM_LINK, "Security info: sign-in methods, sessions, devices", "セキュリティ情報：サインイン方法、セッション、デバイス") \
    X(SM_METHODS, "My sign-in methods", "サインイン方法") \
    X(SM_PASSKEYS, "Passkeys and security keys", "パスキーとセキュリティキー") \
    X(SM_NO_PASSKEYS, "No passkey or security key yet.", "パスキーやセキュリティキーはまだ登録されていません。") \
    X(SM_COL_NAME, "Name", "名前") \
    X(SM_COL_TYPE, "Type", "種類") \
    X(SM_COL_ADDED, "Added", "追加日時") \
    X(SM_COL_LAST_USED, "Last used", "最終使用日時") \
    X(SM_NEVER, "Never", "未使用") \
    X(SM_TYPE_SYNCED, "Synced passkey", "同期パスキー") \
    X(SM_TYPE_DEVICE, "Device-bound passkey", "デバイス固定のパスキー") \
    X(SM_TYPE_KEY, "Security key", "セキュリティキー") \
    X(SM_NEW_NAME, "New name", "新しい名前") \
    X(SM_RENAME, "Rename", "名前を変更") \
    X(SM_REMOVE, "Remove", "削除") \
    X(SM_TOTP, "Authenticator app", "認証アプリ") \
    X(SM_TOTP_ON, "An authenticator app is set up.", "認証アプリが設定されています。") \
    X(SM_TOTP_OFF, "No authenticator app is set up.", "認証アプリは設定されていません。") \
    X(SM_TOTP_REMOVE, "Remove the authenticator app and its recovery codes", "認証アプリと回復コードを削除") \
    X(SM_RECOVERY, "Recovery codes", "回復コード") \
    X(SM_RECOVERY_LEFT, "Unused recovery codes: ", "未使用の回復コード：") \
    X(SM_RECOVERY_NEW, "Make new recovery codes (the old ones stop working)", "新しい回復コードを作成（古いコードは使えなくなります）") \
    X(SM_SESSIONS, "Where I am signed in", "サインイン中のセッション") \
    X(SM_COL_DEVICE, "Device", "デバイス") \
    X(SM_COL_PLACE, "Place", "場所") \
    X(SM_COL_SIGNED_IN, "Signed in", "サインイン日時") \
    X(SM_COL_LAST_SEEN, "Last active", "最終アクティビティ") \
    X(SM_THIS_BROWSER, "This browser", "このブラウザー") \
    X(SM_SIGN_OUT_OTHERS, "Sign out everywhere else", "ほかのすべてのセッションからサインアウト") \
    X(SM_DEVICES, "My enrolled devices", "登録済みデバイス") \
    X(SM_NO_DEVICES, "No device is enrolled.", "登録済みのデバイスはありません。") \
    X(SM_COL_PLATFORM, "Platform", "プラットフォーム") \
    X(SM_COL_HEALTH, "Health", "準拠状態") \
    X(SM_COL_POSTURE, "Last health report", "最終状態報告") \
    X(SM_COMPLIANT, "Compliant", "準拠") \
    X(SM_NONCOMPLIANT, "Not compliant", "非準拠") \
    X(SM_REVOKED, "Removed from use", "利用停止") \
    X(SM_NO_REPORT, "No report yet", "報告なし") \
    X(SM_ACTIVITY, "Recent sign-in activity", "最近のサインインアクティビティ") \
    X(SM_NO_ACTIVITY, "No recent sign-in is recorded.", "最近のサインイン記録はありません。") \
    X(SM_ACTIVITY_OFF, "Sign-in activity cannot be shown: the gateway keeps no audit log.", "監査ログが無効のため、サインインアクティビティを表示できません。") \
    X(SM_COL_TIME, "Time", "日時") \
    X(SM_COL_ADDRESS, "Address", "IP アドレス") \
    X(SM_COL_RESULT, "Result", "結果") \
    X(SM_RESULT_OK, "Signed in", "成功") \
    X(SM_RESULT_FAIL, "Failed", "失敗") \
    X(SM_NOT_ME, "This wasn't me", "心当たりがない") \
    X(SM_UNKNOWN, "Unknown", "不明") \
    X(SM_DONE_RENAMED, "The passkey was renamed.", "パスキーの名前を変更しました。") \
    X(SM_DONE_REMOVED, "The passkey was removed.", "パスキーを削除しました。") \
    X(SM_DONE_TOTP, "The authenticator app and its recovery codes were removed.", "認証アプリと回復コードを削除しました。") \
    X(SM_DONE_SESSION, "That session was signed out.", "そのセッションをサインアウトしました。") \
    X(SM_DONE_OTHERS, "Every other session was signed out.", "ほかのすべてのセッションをサインアウトしました。") \
    X(SM_DONE_REPORTED, "Thank you. Your administrator has been alerted. Change your password now.", "ご報告ありがとうございます。管理者に通知しました。今すぐパスワードを変更してください。") \
    X(SM_BAD_FORM, "This page cannot do what the form asked. Go back to the page and try again.", "フォームの内容を処理できません。ページに戻って、もう一度お試しください。") \
    X(SM_BAD_NAME, "A passkey name must be 1 to 64 characters, without control characters.", "パスキーの名前は 1～64 文字で、制御文字は使えません。") \
    X(SM_NOT_YOURS, "There is no such item on your account.", "お使いのアカウントにそのような項目はありません。") \
    X(SM_NEED_PASSKEY, "This is your last passkey. To remove it, sign in with it again first, then remove it within 5 minutes.", "これは最後のパスキーです。削除するには、まずこのパスキーでもう一度サインインし、5 分以内に削除してください。") \
    X(SM_NO_TOTP, "No authenticator app is set up.", "認証アプリは設定されていません。") \
    X(SM_THIS_SESSION, "To sign out of this browser, use Sign out.", "このブラウザーからサインアウトするには、「サインアウト」を使用してください。") \
    X(SM_BACK, "Back to security info", "セキュリティ情報に戻る")


/* The passkey parts of the portal's pages (sign-in, MFA, account, /.ztgate/passkey) and the
 * texts passkey.js shows, handed to it in data- attributes. */
#define ZT_PASSKEY_MESSAGES(X) \
    X(PK_BUTTON_SIGN_IN, "Sign in with a passkey", "パスキーでサインイン") \
    X(PK_INTRO_SIGN_IN, "No password needed: your device or security key confirms it is you.", "パスワードは不要です。デバイスまたはセキュリティキーで本人確認をします。") \
    X(PK_OR, "or", "または") \
    X(PK_BUTTON_USE, "Use a passkey or security key", "パスキーまたはセキュリティキーを使う") \
    X(PK_TITLE_CONFIRM, "Confirm with your passkey", "パスキーで確認") \
    X(PK_INTRO_CONFIRM, "This app needs a passkey or a security key. Use the one you registered.", "このアプリにはパスキーまたはセキュリティキーが必要です。登録済みのものを使ってください。") \
    X(PK_TITLE_ADD, "Add a passkey", "パスキーを追加") \
    X(PK_INTRO_ADD, "A passkey lets you sign in without a password, and no look-alike site can use it.", "パスキーがあれば、パスワードなしでサインインでき、偽サイトに悪用されることもありません。") \
    X(PK_INTRO_ADD_FIRST, "This app needs a passkey or a security key, and you have none yet. Add one now.", "このアプリにはパスキーまたはセキュリティキーが必要ですが、まだ登録されていません。今すぐ追加してください。") \
    X(PK_LABEL_NAME, "Name for this passkey", "このパスキーの名前") \
    X(PK_BUTTON_ADD, "Add a passkey", "パスキーを追加") \
    X(PK_LIST, "Your passkeys", "登録済みのパスキー") \
    X(PK_NONE_YET, "No passkey yet.", "パスキーはまだありません。") \
    X(PK_NONE_PENDING, "You have no passkey or security key. Ask your administrator for help.", "パスキーまたはセキュリティキーが登録されていません。管理者にお問い合わせください。") \
    X(PK_ERR_UNSUPPORTED, "This browser cannot use passkeys. Use another browser or sign in with your password.", "このブラウザーではパスキーを使えません。別のブラウザーを使うか、パスワードでサインインしてください。") \
    X(PK_ERR_CANCELLED, "The passkey request was cancelled or timed out. Try again.", "パスキーの要求がキャンセルされたか、時間切れになりました。もう一度お試しください。") \
    X(PK_ERR_EXISTS, "This authenticator already holds a passkey for your account.", "この認証器には、すでにこのアカウントのパスキーがあります。") \
    X(PK_ERR_FAILED, "The passkey could not be verified. Try again.", "パスキーを確認できませんでした。もう一度お試しください。") \
    X(PK_LINK_PASSWORD, "Sign in with a password instead", "パスワードでサインインする") \
    X(PK_LINK_PASSKEY, "Use a passkey for this app", "このアプリでパスキーを使う")

/* The passkey JSON endpoints' error messages (src/portal/webauthn.c), by error code. */
#define ZT_WEBAUTHN_MESSAGES(X) \
    X(WA_INVALID_CHALLENGE, "This request is not part of a passkey prompt from this browser, or it was used already. Start again.", "このブラウザーで開始したパスキーの確認ではないか、すでに使われています。最初からやり直してください。") \
    X(WA_CHALLENGE_EXPIRED, "The passkey prompt timed out. Start again.", "パスキーの確認の有効期限が切れました。最初からやり直してください。") \
    X(WA_MALFORMED, "The request could not be read.", "リクエストを読み取れませんでした。") \
    X(WA_VERIFICATION_FAILED, "The passkey could not be verified.", "パスキーを確認できませんでした。") \
    X(WA_USER_VERIFICATION_REQUIRED, "Your device did not verify you (PIN or biometrics).", "デバイスで本人確認（PIN または生体認証）が行われませんでした。") \
    X(WA_UNSUPPORTED, "This kind of security key is not supported.", "この種類のセキュリティキーには対応していません。") \
    X(WA_UNKNOWN_CREDENTIAL, "This passkey is not registered here.", "このパスキーは登録されていません。") \
    X(WA_USER_MISMATCH, "This passkey belongs to another account.", "このパスキーは別のアカウントのものです。") \
    X(WA_CLONED_CREDENTIAL, "This passkey was refused because it may have been copied. Contact your administrator.", "このパスキーは複製された可能性があるため拒否されました。管理者に連絡してください。") \
    X(WA_CREDENTIAL_EXISTS, "This passkey is registered already.", "このパスキーはすでに登録されています。") \
    X(WA_TOO_MANY_CREDENTIALS, "You have the most passkeys allowed. Remove one first.", "登録できるパスキーの上限に達しています。先にどれかを削除してください。") \
    X(WA_NOT_SIGNED_IN, "Sign in first.", "先にサインインしてください。") \
    X(WA_SECOND_FACTOR_REQUIRED, "Finish signing in with your second factor first.", "先に 2 要素目の確認を済ませてください。") \
    X(WA_ACCOUNT_DISABLED, "This account is disabled.", "このアカウントは無効になっています。") \
    X(WA_ACCOUNT_EXPIRED, "This account has expired. Ask your sponsor or administrator to extend it.", "このアカウントは有効期限が切れています。延長はスポンサーまたは管理者に依頼してください。") \
    X(WA_TOO_MANY_ATTEMPTS, "Too many attempts. Wait a moment, then try again.", "試行回数が多すぎます。しばらく待ってからやり直してください。") \
    X(WA_FORBIDDEN_ORIGIN, "This request did not come from this site.", "このリクエストはこのサイトから送られたものではありません。") \
    X(WA_UNSUPPORTED_MEDIA_TYPE, "Send the request as application/json.", "リクエストは application/json で送ってください。") \
    X(WA_METHOD_NOT_ALLOWED, "Use POST.", "POST を使ってください。") \
    X(WA_PASSKEYS_DISABLED, "Passkeys are turned off on this gateway.", "このゲートウェイではパスキーが無効になっています。") \
    X(WA_NOT_FOUND, "There is no such passkey request.", "そのようなパスキーのリクエストはありません。") \
    X(WA_WRONG_HOST, "Use the sign-in portal's address for passkeys.", "パスキーはサインインポータルのアドレスで使ってください。") \
    X(WA_UNAVAILABLE, "The service is unavailable. Try again later.", "サービスを利用できません。しばらくしてからやり直してください。") \
    X(WA_PASSKEY_REQUIRED, "You have a passkey already: confirm with it first, then add another.", "すでにパスキーが登録されています。先にそのパスキーで確認してから追加してください。") \
    X(WA_TEMPORARY_ACCESS_PASS_REQUIRED, "Adding a passkey needs a Temporary Access Pass here. Ask your administrator for one.", "ここでパスキーを追加するには一時アクセスパスが必要です。管理者に発行を依頼してください。") \
    X(WA_KEY_NOT_ALLOWED, "This security key or passkey is not one your organisation allows. Use an approved key.", "このセキュリティキーまたはパスキーは組織で許可されていません。許可されたキーを使ってください。") \
    X(WA_ATTESTATION_REQUIRED, "Your organisation only accepts security keys whose maker can be verified. Use an approved key.", "組織では製造元を確認できるセキュリティキーのみ受け付けています。許可されたキーを使ってください。") \

/* The OpenID Connect provider's pages (src/idp/oidc_*.c). */
#define ZT_OIDC_MESSAGES(X) \
    X(OI_ERROR_TITLE, "Sign-in request refused", "サインイン要求を受け付けられません") \
    X(OI_UNKNOWN_CLIENT, "The application that sent you here is not registered with this sign-in service. Tell the application's administrator.", "ここに移動させたアプリケーションは、このサインインサービスに登録されていません。アプリケーションの管理者に連絡してください。") \
    X(OI_BAD_REDIRECT_URI, "The application asked to send you back to an address it has not registered. For your safety you were not sent there.", "アプリケーションが登録されていないアドレスへの移動を求めました。安全のため、移動させませんでした。") \
    X(OI_BAD_REQUEST, "The sign-in request from the application could not be read.", "アプリケーションからのサインイン要求を読み取れませんでした。") \
    X(OI_UNMET, "This application needs a sign-in method or device you cannot use here.", "このアプリケーションには、ここでは使えないサインイン方法またはデバイスが必要です。") \
    X(OI_BACK_TO_APP_TEXT, "You can go back to the application; it will be told that access was denied.", "アプリケーションに戻ることができます。アクセスが拒否されたことがアプリケーションに伝えられます。") \
    X(OI_BACK_TO_APP, "Return to the application", "アプリケーションに戻る") \
    X(OI_LOGOUT_TITLE, "Sign out", "サインアウト") \
    X(OI_LOGOUT_CONFIRM, "An application asks to sign you out. Sign out of ztgate and of every application you signed in to through it?", "アプリケーションがサインアウトを求めています。ztgate と、ztgate 経由でサインインしたすべてのアプリケーションからサインアウトしますか？") \
    X(OI_LOGOUT_BUTTON, "Sign out everywhere", "すべてからサインアウト") \
    X(OI_SIGNED_OUT, "You are signed out of ztgate and of the applications you signed in to through it.", "ztgate と、ztgate 経由でサインインしたアプリケーションからサインアウトしました。")

/* The SAML identity provider's pages (src/idp/saml_*.c). */
#define ZT_SAML_MESSAGES(X) \
    X(SAML_TITLE_REFUSED, "Sign-in request refused", "サインイン要求を受け付けられません") \
    X(SAML_BODY_UNKNOWN_SP, "The application that sent you here is not registered with this sign-in service, so no answer is sent to it. Tell your administrator and quote the reference below.", "ここに案内したアプリケーションはこのサインインサービスに登録されていないため、応答を送りません。下記の参照番号を添えて管理者にご連絡ください。") \
    X(SAML_BODY_BAD_REQUEST, "The sign-in request from the application could not be read or its signature could not be verified. Go back to the application and try again; if it keeps happening, tell your administrator and quote the reference below.", "アプリケーションからのサインイン要求を読み取れないか、その署名を検証できませんでした。アプリケーションに戻ってやり直してください。繰り返し発生する場合は、下記の参照番号を添えて管理者にご連絡ください。") \
    X(SAML_BODY_UNSIGNED, "This application must sign its sign-in requests, and this one was not signed. Tell your administrator and quote the reference below.", "このアプリケーションのサインイン要求には署名が必要ですが、この要求には署名がありませんでした。下記の参照番号を添えて管理者にご連絡ください。") \
    X(SAML_BODY_EXPIRED, "This sign-in request has expired. Go back to the application and sign in again.", "このサインイン要求は有効期限が切れています。アプリケーションに戻って、もう一度サインインしてください。") \
    X(SAML_BODY_UNKNOWN_APP, "There is no SAML application by that name.", "その名前の SAML アプリケーションはありません。") \
    X(SAML_TITLE_CONTINUE, "Continuing to the application", "アプリケーションに移動しています") \
    X(SAML_BODY_CONTINUE, "You are signed in. If the application does not open by itself, press Continue.", "サインインしました。アプリケーションが自動で開かない場合は「続行」を押してください。") \
    X(SAML_BODY_RETURN_DENIED, "The application will be told that access was denied.", "アプリケーションには、アクセスが拒否されたことが通知されます。") \
    X(SAML_BUTTON_CONTINUE, "Continue", "続行") \
    X(SAML_LINK_BACK, "Back to the application", "アプリケーションに戻る") \
    X(SAML_TITLE_SIGNED_OUT, "Signed out", "サインアウトしました") \
    X(SAML_BODY_SIGNED_OUT, "You are signed out of ztgate and of the applications you signed in to with it.", "ztgate と、ztgate でサインインしたアプリケーションからサインアウトしました。") \

/* Sign-in through an upstream OpenID provider (src/federation) and the sign-in page's buttons. */
#define ZT_FED_MESSAGES(X) \
    X(FED_OR, "or sign in with", "または次でサインイン") \
    X(FED_TITLE_FAILED, "Sign-in with your organisation failed", "組織のアカウントでのサインインに失敗しました") \
    X(FED_BODY_FAILED, "Your organisation's sign-in service sent an answer ztgate could not accept. Go back to the sign-in page and try again; if it keeps happening, tell your administrator and quote the reference below.", "組織のサインインサービスからの応答を受け付けられませんでした。サインインページに戻ってやり直してください。繰り返し発生する場合は、下記の参照番号を添えて管理者にご連絡ください。") \
    X(FED_BODY_EXPIRED, "This sign-in took too long or was started in another browser window. Go back to the sign-in page and sign in again.", "サインインに時間がかかりすぎたか、別のブラウザーウィンドウで開始されました。サインインページに戻って、もう一度サインインしてください。") \
    X(FED_BODY_UNKNOWN_PROVIDER, "There is no sign-in service by that name.", "その名前のサインインサービスはありません。") \
    X(FED_BODY_UNAVAILABLE, "Your organisation's sign-in service cannot be reached right now. Try again in a few minutes, or sign in with your password if you have one.", "組織のサインインサービスに現在接続できません。数分後にもう一度お試しいただくか、パスワードをお持ちの場合はパスワードでサインインしてください。") \
    X(FED_BODY_NO_ACCOUNT, "Your organisation account was recognised, but it has no access here. Ask your administrator to give you access.", "組織のアカウントは確認できましたが、ここへのアクセス権がありません。管理者にアクセス権の付与を依頼してください。") \
    X(FED_BODY_DENIED, "Sign-in was cancelled or refused at your organisation's sign-in service.", "組織のサインインサービスでサインインが取り消されたか、拒否されました。") \
    X(FED_LINK_SIGN_IN, "Back to sign-in", "サインインに戻る") \
    X(FED_TITLE_CONTINUE, "Continuing to your organisation's sign-in", "組織のサインインに移動しています") \
    X(FED_BODY_CONTINUE, "Your e-mail address belongs to an organisation that signs you in itself. If its page does not open by itself, press Continue.", "お使いのメールアドレスは、組織自身がサインインを行う組織のものです。そのページが自動で開かない場合は「続行」を押してください。") \
    X(FED_LINK_CONTINUE, "Continue", "続行") \
    X(FED_BODY_UPSTREAM_LOGOUT, "You are signed out here. You are now being signed out of your organisation's sign-in service too; if its page does not open by itself, press Continue.", "ここからサインアウトしました。続いて組織のサインインサービスからもサインアウトします。そのページが自動で開かない場合は「続行」を押してください。")

/* The approval page of `ztagent tunnel` sign-ins (/.ztgate/agent/approve). */
#define ZT_AGENT_MESSAGES(X)                                                                      \
    X(AG_TITLE, "Approve a device sign-in", "デバイスのサインインを承認")                                  \
    X(AG_INTRO,                                                                                   \
      "ztagent on one of your devices printed a code and asked you to approve it here. Type the " \
      "code. Only approve a code you started yourself, on your own device, a moment ago.",        \
      "お使いのデバイスの ztagent がコードを表示し、ここで承認するよう求めています。コードを入力"                          \
      "してください。承認するのは、たった今あなた自身がご自分のデバイスで開始したコードだけに"                                \
      "してください。")                                                                                \
    X(AG_CODE_LABEL, "Code from ztagent", "ztagent のコード")                                          \
    X(AG_CONTINUE, "Continue", "続行")                                                              \
    X(AG_CONFIRM_INTRO, "This sign-in was asked for by:", "このサインインを求めているのは：")                      \
    X(AG_APP, "App", "アプリ")                                                                       \
    X(AG_DEVICE, "Device", "デバイス")                                                                \
    X(AG_AGENT_AT, "Device address", "デバイスのアドレス")                                                 \
    X(AG_BROWSER_AT, "This browser's address", "このブラウザーのアドレス")                                    \
    X(AG_FAR_WARNING,                                                                             \
      "The device asking is not where this browser is. If you did not start this yourself, "      \
      "press Deny: someone may be trying to use your account.",                                   \
      "サインインを求めているデバイスは、このブラウザーとは別の場所にあります。ご自身で開始していない"                           \
      "場合は「拒否」を押してください。誰かがあなたのアカウントを使おうとしている可能性があります。")                        \
    X(AG_ONLY_YOURS,                                                                              \
      "Approving lets this device open tunnels to the app as you until the sign-in ends.",        \
      "承認すると、このデバイスはサインインが終わるまで、あなたとしてこのアプリへのトンネルを開けます。")                      \
    X(AG_APPROVE, "Approve", "承認")                                                                \
    X(AG_DENY, "Deny", "拒否")                                                                      \
    X(AG_APPROVED,                                                                                \
      "Approved. Go back to your terminal: the tunnel opens in a few seconds.",                   \
      "承認しました。ターミナルに戻ってください。数秒でトンネルが開きます。")                                       \
    X(AG_DENIED, "Denied. The device gets no access.", "拒否しました。デバイスはアクセスできません。")              \
    X(AG_BAD_CODE,                                                                                \
      "That code is unknown, expired or already used. Check it, or run ztagent again for a new "  \
      "one.",                                                                                     \
      "そのコードは不明、期限切れ、または使用済みです。確認するか、ztagent をもう一度実行して新しい"                          \
      "コードを取得してください。")                                                                         \
    X(AG_THROTTLED,                                                                               \
      "Too many wrong codes. Wait 15 minutes, then run ztagent again for a new code.",            \
      "誤ったコードが多すぎます。15 分待ってから、ztagent をもう一度実行して新しいコードを取得してください。")               \
    X(AG_NOT_OWNER,                                                                               \
      "This code belongs to a device that is not yours, so you cannot approve it. Nothing was "   \
      "approved.",                                                                                \
      "このコードはあなたのものではないデバイスのものなので、承認できません。何も承認されていません。")                        \
    X(AG_NO_APP,                                                                                  \
      "The device asked for an app this gateway does not offer for tunnels. Nothing was "         \
      "approved.",                                                                                \
      "デバイスが求めたアプリは、このゲートウェイでトンネル用に提供されていません。何も承認されていません。")                    \
    X(AG_BLOCKED,                                                                                 \
      "Your organisation's access policy does not let you use this app from here. Nothing was "   \
      "approved.",                                                                                \
      "組織のアクセスポリシーにより、ここからこのアプリを利用することはできません。何も承認されていません。")                    \
    X(AG_POLICY, "Policy: ", "ポリシー：")                                                            \
    X(AG_STEP_UP,                                                                                 \
      "This app needs a second sign-in factor first. Confirm it, then type the code again.",      \
      "このアプリには、まず 2 つ目のサインイン要素が必要です。確認してから、もう一度コードを入力してください。")                 \
    X(AG_STEP_UP_LINK, "Confirm the second factor", "2 つ目の要素を確認")                                \
    X(AG_REAUTH,                                                                                  \
      "This app needs a recent sign-in. Sign in again, then type the code again.",                \
      "このアプリには最近のサインインが必要です。もう一度サインインしてから、コードを再入力してください。")                     \
    X(AG_REAUTH_LINK, "Sign in again", "もう一度サインイン")

/* WebSocket upgrades refused by the gateway (src/proxy/ws.c). */
#define ZT_WS_MESSAGES(X) \
    X(WS_TITLE, "Live connection refused", "ライブ接続が拒否されました") \
    X(WS_BODY_ORIGIN, "This page was loaded from a site that may not open a live connection (WebSocket) to this application.", "このページは、このアプリケーションへのライブ接続（WebSocket）を開くことが許可されていないサイトから読み込まれています。") \
    X(WS_BODY_DISABLED, "Live connections (WebSocket) to this application are turned off.", "このアプリケーションへのライブ接続（WebSocket）は無効になっています。") \
    X(WS_BODY_RESTRICTED, "Your access to this application is restricted right now, and a restricted session cannot open a live connection (WebSocket).", "現在このアプリケーションへのアクセスは制限されており、制限付きのセッションではライブ接続（WebSocket）を開けません。") \
    X(WS_BODY_VERSION, "The browser or client asked for a WebSocket version this gateway does not support (it supports version 13).", "ブラウザーまたはクライアントが、このゲートウェイが対応していないバージョンの WebSocket を要求しました（対応しているのはバージョン 13 です）。")

/* The tunnel server's answers to ztagent (the JSON "message" of a refused CONNECT). */
#define ZT_TUNNEL_MESSAGES(X) \
    X(TUN_SIGN_IN, "Sign in again with the agent: this device has no valid sign-in for tunnels (it is missing, has ended, or belongs to another device).", "エージェントでもう一度サインインしてください。このデバイスにはトンネル用の有効なサインインがありません(未サインイン、期限切れ、または別のデバイスのものです)。") \
    X(TUN_STEP_UP, "This app needs a second factor: sign in again with the agent and complete it.", "このアプリには2要素目の認証が必要です。エージェントでもう一度サインインし、認証を完了してください。") \
    X(TUN_BLOCKED, "Your organisation's access policy does not allow this tunnel.", "組織のアクセスポリシーにより、このトンネルは許可されていません。") \
    X(TUN_NOT_APP, "No app is configured for this host and port: ztgate connects only to the TCP apps it is configured for.", "このホストとポートに設定されたアプリはありません。ztgate は設定された TCP アプリにのみ接続します。") \
    X(TUN_UNAVAILABLE, "The gateway cannot open this tunnel right now. Try again later.", "現在このトンネルを開けません。しばらくしてから再試行してください。")

/* The admin plane's groups live in their own files so each area edits only its own. */
#include "core/i18n_admin.h"
#include "core/i18n_assess.h"
#include "core/i18n_console.h"
#include "core/i18n_console_ops.h"

#define ZT_MESSAGES(X)                                                                            \
    ZT_GATEWAY_MESSAGES(X) ZT_PORTAL_MESSAGES(X) ZT_DEVICE_MESSAGES(X) ZT_SECURITY_MESSAGES(X) \
    ZT_PASSKEY_MESSAGES(X) ZT_WEBAUTHN_MESSAGES(X) ZT_OIDC_MESSAGES(X) ZT_SAML_MESSAGES(X) \
    ZT_FED_MESSAGES(X) ZT_WS_MESSAGES(X) ZT_TUNNEL_MESSAGES(X) ZT_AGENT_MESSAGES(X) \
    ZT_ADMIN_MESSAGES(X) ZT_CONSOLE_MESSAGES(X) ZT_CONSOLE_OPS_MESSAGES(X) ZT_ASSESS_MESSAGES(X)
/* clang-format on */

typedef enum zt_msg {
#define ZT_MSG_ENUM(id, en, ja) id,
    ZT_MESSAGES(ZT_MSG_ENUM)
#undef ZT_MSG_ENUM
        ZT_MSG_COUNT
} zt_msg;

/* The text of id in lang; "" for MSG_NONE or an id out of range. */
const char *zt_msg_text(zt_lang lang, zt_msg id);
/* Pick the best supported language from an Accept-Language value (q-values honoured);
 * English when nothing matches. */
zt_lang zt_lang_from_accept(const char *value, size_t len);
const char *zt_lang_tag(zt_lang lang);

#endif
