/* Texts of the device enrolment page in English and Japanese, one X-macro table so a missing
 * translation cannot slip through (as portal/messages.h does for the sign-in pages). */
#ifndef ZT_DEVICE_MESSAGES_H
#define ZT_DEVICE_MESSAGES_H

/* clang-format off */
#define ZT_DEVICE_MESSAGES(X)                                                                      \
    X(DM_TITLE, "Enrol a device", "デバイスの登録")                                                \
    X(DM_INTRO,                                                                                    \
      "To use apps that need a trusted device, install ztagent on the device and enrol it with "  \
      "a one-time code. The code works once and only for your account.",                          \
      "信頼済みデバイスが必要なアプリを使うには、デバイスに ztagent をインストールし、ワンタイム" \
      "コードで登録してください。コードは一度だけ、あなたのアカウントでのみ使えます。")          \
    X(DM_BUTTON, "Get an enrolment code", "登録コードを発行")                                      \
    X(DM_CODE_LABEL, "Your enrolment code:", "登録コード：")                                       \
    X(DM_VALID_PRE, "It is valid for ", "有効期間は ")                                            \
    X(DM_VALID_POST, " minutes and works once.", " 分で、一度だけ使えます。")                    \
    X(DM_RUN, "On the device, run:", "デバイスで次のコマンドを実行してください：")                \
    X(DM_AFTER,                                                                                    \
      "The device then reports its security settings. If an app refuses it, the block page "     \
      "says what to fix.",                                                                         \
      "その後、デバイスはセキュリティ設定を報告します。アプリに拒否された場合は、ブロック画面に" \
      "修正すべき点が表示されます。")                                                              \
    X(DM_ANOTHER, "Get another code", "別のコードを発行")                                          \
    X(DM_FAILED, "The code could not be made. Try again in a moment.",                             \
      "コードを発行できませんでした。しばらくしてから再度お試しください。")                      \
    X(DM_CONTINUE_HINT,                                                                            \
      "When the device is enrolled, come back here in this browser to tie the browser to it.",    \
      "デバイスの登録が済んだら、このブラウザーでこのページに戻り、ブラウザーをデバイスに"         \
      "関連付けてください。")                                                                      \
    X(DM_CONTINUE, "Done — continue", "完了 — 続ける")                                             \
    X(DM_WAITING,                                                                                  \
      "The device has not enrolled with your code yet. Run the command on the device, then "     \
      "continue.",                                                                                 \
      "デバイスはまだコードで登録されていません。デバイスでコマンドを実行してから続けてください。") \
    X(DM_BOUND_PRE, "This browser is now tied to the device ", "このブラウザーはデバイス ")        \
    X(DM_BOUND_POST,                                                                               \
      ". Apps that need a compliant device accept it while the device stays compliant.",          \
      " に関連付けられました。デバイスが準拠している間、準拠デバイスが必要なアプリを使えます。")
/* clang-format on */

#define ZT_DM_ENUM(id, en, ja) id,
typedef enum zt_dmsg { ZT_DEVICE_MESSAGES(ZT_DM_ENUM) DM_COUNT } zt_dmsg;
#undef ZT_DM_ENUM

#endif
