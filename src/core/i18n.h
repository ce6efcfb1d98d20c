/* The message catalogue: every text a person sees on a ztgate page, in English and Japanese,
 * chosen from Accept-Language. One table, so a missing translation is a compile-time gap, not
 * a runtime surprise. */
#ifndef ZT_CORE_I18N_H
#define ZT_CORE_I18N_H

#include <stddef.h>

typedef enum zt_lang { ZT_LANG_EN = 0, ZT_LANG_JA, ZT_LANG_COUNT } zt_lang;

#define ZT_MESSAGES(X)                                                                                                                       \
    X(MSG_BAD_REQUEST_TITLE, "Bad request", "不正なリクエスト")                                                                              \
    X(MSG_BAD_REQUEST_BODY, "The request could not be understood by the gateway.",                                                           \
      "ゲートウェイはこのリクエストを解釈できませんでした。")                                                                                \
    X(MSG_NOT_FOUND_TITLE, "No application here", "アプリケーションが見つかりません")                                                        \
    X(MSG_NOT_FOUND_BODY,                                                                                                                    \
      "This address is not an application published through this gateway. Check the link, or "                                               \
      "ask your administrator which address to use.",                                                                                        \
      "このアドレスはゲートウェイで公開されているアプリケーションではありません。リンクを確認す" \
      "るか、管理者に正しいアドレスをお問い合わせください。")                                                                                \
    X(MSG_BAD_GATEWAY_TITLE, "Application unavailable", "アプリケーションに接続できません")                                                  \
    X(MSG_BAD_GATEWAY_BODY,                                                                                                                  \
      "The gateway could not reach the application. Try again in a moment; if it keeps "                                                     \
      "happening, tell your administrator and quote the reference below.",                                                                   \
      "ゲートウェイからアプリケーションに接続できませんでした。しばらくしてから再度お試しくださ" \
      "い。繰り返し発生する場合は、下記の参照番号を添えて管理者にご連絡ください。")                                                          \
    X(MSG_TIMEOUT_TITLE, "Application timed out", "アプリケーションが応答しません")                                                          \
    X(MSG_TIMEOUT_BODY,                                                                                                                      \
      "The application did not answer in time. Try again in a moment; if it keeps happening, "                                               \
      "tell your administrator and quote the reference below.",                                                                              \
      "アプリケーションが時間内に応答しませんでした。しばらくしてから再度お試しください。繰り返" \
      "し発生する場合は、下記の参照番号を添えて管理者にご連絡ください。")                                                                    \
    X(MSG_TOO_LARGE_TITLE, "Request too large", "リクエストが大きすぎます")                                                                  \
    X(MSG_TOO_LARGE_BODY, "The request is larger than this gateway accepts.",                                                                \
      "リクエストがゲートウェイの上限を超えています。")                                                                                      \
    X(MSG_UNAVAILABLE_TITLE, "Service unavailable", "サービスを利用できません")                                                              \
    X(MSG_UNAVAILABLE_BODY,                                                                                                                  \
      "The gateway cannot serve this request right now. Try again in a moment.",                                                             \
      "ゲートウェイは現在このリクエストを処理できません。しばらくしてから再度お試しください。")                                              \
    X(MSG_REASON, "Reason", "理由")                                                                                                          \
    X(MSG_REFERENCE, "Reference", "参照番号")                                                                                                \
    X(MSG_FOOTER, "Protected by ztgate", "ztgate により保護されています")                                                                    \
    X(MSG_BLOCKED_TITLE, "Access blocked", "アクセスがブロックされました")                                                                   \
    X(MSG_BLOCKED_BODY, "Your organisation's access policy does not allow this request.",                                                    \
      "組織のアクセスポリシーにより、このリクエストは許可されていません。")                                                                  \
    X(MSG_RESTRICTED_TITLE, "Action not allowed", "この操作は許可されていません")                                                            \
    X(MSG_READ_ONLY_BODY,                                                                                                                    \
      "This application is read-only for you right now: changes cannot be made from this "                                                   \
      "session.",                                                                                                                            \
      "現在このアプリケーションは読み取り専用です。このセッションからは変更できません。")                                                    \
    X(MSG_NO_DOWNLOAD_BODY,                                                                                                                  \
      "Downloading files from this application is not allowed from this session.",                                                           \
      "このセッションからは、このアプリケーションのファイルをダウンロードできません。")                                                      \
    X(MSG_POLICY, "Policy", "ポリシー")                                                                                                      \
    X(MSG_WHAT_TO_DO, "What you can do", "対処方法")                                                                                         \
    X(MSG_DO_CONTACT_ADMIN,                                                                                                                  \
      "If you think this is a mistake, contact your administrator and quote the reference below.",                                           \
      "誤りと思われる場合は、下記の参照番号を添えて管理者にお問い合わせください。")                                                          \
    X(MSG_DO_COMPLIANT_DEVICE,                                                                                                               \
      "Use a device your organisation has enrolled and that passes its health checks, then try "                                             \
      "again.",                                                                                                                              \
      "組織に登録され、健全性チェックに合格しているデバイスから再度お試しください。")                                                        \
    X(MSG_DO_CHANGE_PASSWORD, "Change your password, then try again.",                                                                       \
      "パスワードを変更してから、再度お試しください。")                                                                                      \
    X(MSG_DO_PASSKEY, "Sign in with a passkey or a security key, then try again.",                                                           \
      "パスキーまたはセキュリティキーでサインインしてから、再度お試しください。")                                                            \
    X(MSG_DO_OTHER_NETWORK, "Try again from a network or place your organisation allows.",                                                   \
      "組織が許可しているネットワークまたは場所から再度お試しください。")                                                                    \
    X(MSG_CHANGE_PASSWORD_LINK, "Change password", "パスワードを変更")                                                                       \
    X(MSG_SIGN_IN_AGAIN_LINK, "Sign in again", "再度サインイン")

typedef enum zt_msg {
#define ZT_MSG_ENUM(id, en, ja) id,
    ZT_MESSAGES(ZT_MSG_ENUM)
#undef ZT_MSG_ENUM
        ZT_MSG_COUNT
} zt_msg;

const char *zt_msg_text(zt_lang lang, zt_msg id);
/* Pick the best supported language from an Accept-Language value (q-values honoured);
 * English when nothing matches. */
zt_lang zt_lang_from_accept(const char *value, size_t len);
const char *zt_lang_tag(zt_lang lang);

#endif
