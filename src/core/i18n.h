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
    X(MSG_FOOTER, "Protected by ztgate", "ztgate により保護されています")

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
