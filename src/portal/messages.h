/* The portal's own message catalogue: every text of the sign-in, MFA, enrolment, password and
 * sign-out pages in English and Japanese, in one X-macro table (as core/i18n.h does for the
 * gateway's error pages), so a missing translation cannot slip through. */
#ifndef ZT_PORTAL_MESSAGES_H
#define ZT_PORTAL_MESSAGES_H

/* clang-format off */
#define ZT_PORTAL_MESSAGES(X)                                                                      \
    X(PM_TITLE_SIGN_IN, "Sign in", "サインイン")                                                   \
    X(PM_INTRO_SIGN_IN, "Sign in with your organisation account to continue.",                     \
      "続行するには、組織のアカウントでサインインしてください。")                                  \
    X(PM_LABEL_USERNAME, "Email address", "メールアドレス")                                        \
    X(PM_LABEL_PASSWORD, "Password", "パスワード")                                                 \
    X(PM_BUTTON_SIGN_IN, "Sign in", "サインイン")                                                  \
    X(PM_ERR_SIGN_IN,                                                                              \
      "The email address or password is incorrect, or this account cannot sign in right now.",    \
      "メールアドレスまたはパスワードが正しくないか、このアカウントは現在サインインできません。")  \
    X(PM_TITLE_TOO_MANY, "Too many attempts", "試行回数が多すぎます")                              \
    X(PM_BODY_TOO_MANY,                                                                            \
      "There have been too many failed attempts from your network. Wait a minute and try again.", \
      "お使いのネットワークからの失敗した試行が多すぎます。1 分ほど待ってから再度お試しください。") \
    /* throttle (area 7): "BEFORE" N "AFTER" seconds to wait */                                  \
    X(PM_WAIT_BEFORE, "Too many sign-in attempts. Please wait ",                                   \
      "サインインの試行回数が多すぎます。")                                                        \
    X(PM_WAIT_AFTER, " seconds, then try again.", " 秒待ってから、もう一度お試しください。")      \
    X(PM_WAIT_AFTER_ONE, " second, then try again.", " 秒待ってから、もう一度お試しください。")   \
    X(PM_TITLE_MFA, "Verification code", "確認コード")                                             \
    X(PM_INTRO_MFA,                                                                                \
      "Enter the 6-digit code from your authenticator app, or one of your recovery codes.",       \
      "認証アプリに表示されている 6 桁のコード、または回復コードのいずれかを入力してください。")   \
    X(PM_LABEL_CODE, "Code", "コード")                                                             \
    X(PM_BUTTON_VERIFY, "Verify", "確認")                                                          \
    X(PM_ERR_CODE,                                                                                 \
      "That code is not valid. Each code works only once: wait for the next one and try again.",  \
      "コードが正しくありません。各コードは一度しか使えません。次のコードが表示されるまで待って" \
      "から、再度お試しください。")                                                                \
    X(PM_TITLE_ENROL, "Set up two-step verification", "2 段階認証の設定")                          \
    X(PM_INTRO_ENROL,                                                                              \
      "Scan this QR code with an authenticator app (for example Google Authenticator or "          \
      "Microsoft Authenticator), then enter the 6-digit code it shows.",                           \
      "認証アプリ（Google Authenticator や Microsoft Authenticator など）でこの QR コードを読み" \
      "取り、表示された 6 桁のコードを入力してください。")                                        \
    X(PM_ENROL_MANUAL, "Cannot scan the code? Enter this key in the app instead:",                 \
      "QR コードを読み取れない場合は、代わりに次のキーをアプリに入力してください：")              \
    X(PM_ENROL_LINK, "Open in an authenticator app on this device",                                \
      "この端末の認証アプリで開く")                                                                \
    X(PM_ERR_ENROL_EXPIRED, "This set-up page has expired. Please start again.",                   \
      "この設定ページの有効期限が切れました。最初からやり直してください。")                        \
    X(PM_TITLE_RECOVERY, "Save your recovery codes", "回復コードを保存してください")               \
    X(PM_INTRO_RECOVERY,                                                                           \
      "Two-step verification is now on. If you lose your phone, each of these codes lets you "     \
      "sign in once. Keep them somewhere safe now: they will not be shown again.",                 \
      "2 段階認証が有効になりました。スマートフォンを紛失した場合は、これらのコードでそれぞれ " \
      "1 回ずつサインインできます。今すぐ安全な場所に保管してください。再表示はされません。")     \
    X(PM_CONTINUE, "Continue", "続行")                                                             \
    X(PM_TITLE_PASSWORD, "Change password", "パスワードの変更")                                    \
    X(PM_LABEL_CURRENT, "Current password", "現在のパスワード")                                    \
    X(PM_LABEL_NEW, "New password", "新しいパスワード")                                            \
    X(PM_LABEL_CONFIRM, "New password again", "新しいパスワード（確認用）")                        \
    X(PM_PASSWORD_HINT,                                                                            \
      "Choose a long passphrase that you do not use anywhere else. Minimum number of characters:", \
      "他で使っていない、長めのパスフレーズを設定してください。最小文字数：")                      \
    X(PM_BUTTON_CHANGE, "Change password", "パスワードを変更")                                     \
    X(PM_ERR_CURRENT, "The current password is incorrect.", "現在のパスワードが正しくありません。") \
    X(PM_ERR_MISMATCH, "The two new passwords do not match.",                                      \
      "入力された新しいパスワードが一致しません。")                                                \
    X(PM_ERR_TOO_SHORT, "The new password is too short.", "新しいパスワードが短すぎます。")        \
    X(PM_ERR_TOO_LONG, "The new password is too long.", "新しいパスワードが長すぎます。")          \
    X(PM_ERR_BREACHED,                                                                             \
      "This password has appeared in a data breach and cannot be used. Please choose another.",   \
      "このパスワードは過去の情報漏えいで流出しているため使用できません。別のパスワードを選んで" \
      "ください。")                                                                                \
    X(PM_ERR_INVALID_PW, "The new password contains characters that cannot be used.",              \
      "新しいパスワードに使用できない文字が含まれています。")                                      \
    X(PM_TITLE_PASSWORD_CHANGED, "Password changed", "パスワードを変更しました")                   \
    X(PM_BODY_PASSWORD_CHANGED,                                                                    \
      "Your password has been changed, and every other session of your account has been ended.",  \
      "パスワードを変更しました。このアカウントの他のセッションはすべて終了しました。")            \
    X(PM_TITLE_LOGOUT, "Sign out", "サインアウト")                                                 \
    X(PM_INTRO_LOGOUT, "Do you want to sign out?", "サインアウトしますか？")                       \
    X(PM_BUTTON_SIGN_OUT, "Sign out", "サインアウト")                                              \
    X(PM_TITLE_SIGNED_OUT, "You are signed out", "サインアウトしました")                           \
    X(PM_BODY_SIGNED_OUT,                                                                          \
      "You have been signed out. On a shared computer, also close the browser.",                   \
      "サインアウトしました。共用のコンピューターをお使いの場合は、ブラウザーも閉じてください。") \
    X(PM_SIGN_OUT_EVERYWHERE, "Sign out of the sign-in portal too",                                \
      "サインインポータルからもサインアウトする")                                                  \
    X(PM_SIGN_IN_AGAIN, "Sign in again", "もう一度サインインする")                                 \
    X(PM_TITLE_LINK_EXPIRED, "This sign-in link has expired", "サインイン用リンクの有効期限切れ")  \
    X(PM_BODY_LINK_EXPIRED,                                                                        \
      "The link that signs you in to this application has expired or has already been used. "      \
      "Sign in again to continue.",                                                                \
      "このアプリケーションにサインインするためのリンクは、有効期限が切れているか、すでに使用さ" \
      "れています。続行するには、もう一度サインインしてください。")                                \
    X(PM_TITLE_ACCOUNT, "Your account", "アカウント")                                              \
    X(PM_ACCOUNT_SIGNED_IN_AS, "Signed in as", "サインイン中のアカウント")                         \
    X(PM_ACCOUNT_MFA_ON, "Two-step verification: on", "2 段階認証：有効")                          \
    X(PM_ACCOUNT_MFA_OFF, "Two-step verification: not set up", "2 段階認証：未設定")               \
    X(PM_LINK_TOTP_AGAIN, "Set up a new authenticator app", "新しい認証アプリを設定する")          \
    X(PM_NOT_SIGNED_IN, "You are not signed in.", "サインインしていません。")                      \
    X(PM_RISK_ACCOUNT, "Your account is at risk — change your password.",                          \
      "アカウントが危険にさらされています。パスワードを変更してください。")                        \
    X(PM_TITLE_RISK_BLOCKED, "Sign-in blocked", "サインインがブロックされました")                 \
    X(PM_BODY_RISK_BLOCKED,                                                                        \
      "This sign-in looks risky, and your account has no second factor to confirm that it is "    \
      "you. Contact your administrator.",                                                          \
      "このサインインには危険性があり、ご本人であることを確認する 2 段階認証がアカウントに設定" \
      "されていません。管理者に連絡してください。")                                                \
    X(PM_TITLE_FORBIDDEN, "Request refused", "リクエストが拒否されました")                         \
    X(PM_BODY_CSRF,                                                                                \
      "This form has expired or was sent from another site. Go back, reload the page and try "     \
      "again.",                                                                                    \
      "このフォームは有効期限が切れているか、別のサイトから送信されました。前のページに戻り、" \
      "ページを再読み込みしてから再度お試しください。")                                            \
    X(PM_TITLE_BAD_REQUEST, "Bad request", "不正なリクエスト")                                     \
    X(PM_BODY_BAD_FORM,                                                                            \
      "The form could not be read: a field is missing, repeated, malformed or too long.",         \
      "フォームを読み取れませんでした。項目が不足しているか、重複しているか、形式が正しくないか、" \
      "長すぎます。")                                                                              \
    X(PM_TITLE_UNSUPPORTED, "Unsupported form", "対応していない形式です")                          \
    X(PM_BODY_UNSUPPORTED, "Forms must be sent as application/x-www-form-urlencoded.",             \
      "フォームは application/x-www-form-urlencoded 形式で送信してください。")                     \
    X(PM_TITLE_NOT_FOUND, "Page not found", "ページが見つかりません")                              \
    X(PM_BODY_NOT_FOUND, "There is no ztgate page at this address.",                               \
      "このアドレスには ztgate のページがありません。")                                            \
    X(PM_TITLE_METHOD, "Method not allowed", "許可されていないメソッドです")                       \
    X(PM_BODY_METHOD, "This page does not accept this kind of request.",                           \
      "このページはこの種類のリクエストを受け付けていません。")                                    \
    X(PM_TITLE_UNAVAILABLE, "Service unavailable", "サービスを利用できません")                     \
    X(PM_BODY_UNAVAILABLE, "Sign-in is busy right now. Wait a moment and try again.",              \
      "現在サインインが混み合っています。しばらく待ってから再度お試しください。")                  \
    X(PM_FOOTER, "Protected by ztgate", "ztgate により保護されています")                           \
    X(PM_REFERENCE, "Reference", "参照番号")
/* clang-format on */

typedef enum zt_pmsg {
#define ZT_PMSG_ENUM(id, en, ja) id,
    ZT_PORTAL_MESSAGES(ZT_PMSG_ENUM)
#undef ZT_PMSG_ENUM
        ZT_PMSG_COUNT
} zt_pmsg;

/* "No message" where a view takes an optional one. */
#define PM_NONE ZT_PMSG_COUNT

#endif
