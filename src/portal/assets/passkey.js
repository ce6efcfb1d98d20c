// ztgate passkey ceremonies (GET /.ztgate/passkey.js). Embedded in the binary at build time and
// loaded with <script src defer> by the pages that offer a passkey; no inline script, no CDN.
//
// Each element with data-passkey="login" | "second-factor" | "register" is one ceremony:
//   <div data-passkey="..." data-rd="/path" data-next="/after/register"
//        data-msg-unsupported data-msg-cancelled data-msg-exists data-msg-failed>
//     <input data-passkey-name>              (register only: the name the user gives it)
//     <button type="button" hidden>          (shown only when the browser can do WebAuthn)
//     <p role="alert" hidden>                (errors)
//     <p role="status" hidden>               (no WebAuthn: the data-msg-unsupported text)
//   </div>
// Every word a person reads comes from the page (the server's catalogue, en/ja) or from the
// server's JSON error message: this file holds no user-visible text.
(function () {
    'use strict';

    function fromB64url(s) {
        var b64 = String(s).replace(/-/g, '+').replace(/_/g, '/');
        while (b64.length % 4 !== 0)
            b64 += '=';
        var bin = atob(b64);
        var out = new Uint8Array(bin.length);
        for (var i = 0; i < bin.length; i++)
            out[i] = bin.charCodeAt(i);
        return out.buffer;
    }

    function toB64url(buf) {
        if (buf === null || buf === undefined)
            return undefined;
        var bytes = new Uint8Array(buf);
        var bin = '';
        for (var i = 0; i < bytes.length; i++)
            bin += String.fromCharCode(bytes[i]);
        return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    }

    function credList(list) {
        return (list || []).map(function (c) {
            var d = { type: c.type || 'public-key', id: fromB64url(c.id) };
            if (c.transports)
                d.transports = c.transports;
            return d;
        });
    }

    // PublicKeyCredentialCreationOptionsJSON -> the options create() takes.
    function creationOptions(o) {
        var pk = Object.assign({}, o);
        pk.challenge = fromB64url(o.challenge);
        pk.user = Object.assign({}, o.user, { id: fromB64url(o.user.id) });
        pk.excludeCredentials = credList(o.excludeCredentials);
        return pk;
    }

    // PublicKeyCredentialRequestOptionsJSON -> the options get() takes.
    function requestOptions(o) {
        var pk = Object.assign({}, o);
        pk.challenge = fromB64url(o.challenge);
        pk.allowCredentials = credList(o.allowCredentials);
        return pk;
    }

    function extensionResults(cred) {
        try {
            return cred.getClientExtensionResults();
        } catch (e) {
            return {};
        }
    }

    // RegistrationResponseJSON.
    function registrationJSON(cred) {
        var r = cred.response;
        var resp = {
            clientDataJSON: toB64url(r.clientDataJSON),
            attestationObject: toB64url(r.attestationObject),
        };
        if (typeof r.getTransports === 'function')
            resp.transports = r.getTransports();
        return {
            id: cred.id,
            rawId: toB64url(cred.rawId),
            type: cred.type,
            response: resp,
            authenticatorAttachment: cred.authenticatorAttachment || undefined,
            clientExtensionResults: extensionResults(cred),
        };
    }

    // AuthenticationResponseJSON.
    function authenticationJSON(cred) {
        var r = cred.response;
        return {
            id: cred.id,
            rawId: toB64url(cred.rawId),
            type: cred.type,
            response: {
                clientDataJSON: toB64url(r.clientDataJSON),
                authenticatorData: toB64url(r.authenticatorData),
                signature: toB64url(r.signature),
                userHandle: toB64url(r.userHandle),
            },
            authenticatorAttachment: cred.authenticatorAttachment || undefined,
            clientExtensionResults: extensionResults(cred),
        };
    }

    // A refusal from the server: its JSON message (already in the page's language) when it
    // sent one.
    function ServerError(message) {
        this.serverMessage = message;
    }

    function postJSON(path, body) {
        return fetch(path, {
            method: 'POST',
            credentials: 'same-origin',
            headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
            body: JSON.stringify(body),
        }).then(function (resp) {
            return resp.json().catch(function () {
                return {};
            }).then(function (data) {
                if (!resp.ok)
                    throw new ServerError(data && data.message);
                return data;
            });
        });
    }

    function show(el, text) {
        if (!el)
            return;
        el.textContent = text;
        el.hidden = !text;
    }

    function errorText(box, err) {
        if (err instanceof ServerError && err.serverMessage)
            return err.serverMessage;
        var name = err && err.name;
        if (name === 'NotAllowedError' || name === 'AbortError')
            return box.dataset.msgCancelled;
        if (name === 'InvalidStateError' && box.dataset.msgExists)
            return box.dataset.msgExists;
        return box.dataset.msgFailed;
    }

    function withRd(box, body) {
        if (box.dataset.rd)
            body.rd = box.dataset.rd;
        return body;
    }

    function signIn(box) {
        return postJSON('/.ztgate/webauthn/login/options', withRd(box, {}))
            .then(function (opts) {
                return navigator.credentials.get({ publicKey: requestOptions(opts) });
            })
            .then(function (cred) {
                return postJSON('/.ztgate/webauthn/login/verify', authenticationJSON(cred));
            })
            .then(function (res) {
                if (!res || res.verified !== true)
                    throw new ServerError(res && res.message);
                window.location.assign(res.redirect || '/.ztgate/');
            });
    }

    function register(box) {
        var body = {};
        if (box.dataset.attachment)
            body.authenticatorAttachment = box.dataset.attachment;
        var nameField = box.querySelector('[data-passkey-name]');
        return postJSON('/.ztgate/webauthn/register/options', body)
            .then(function (opts) {
                return navigator.credentials.create({ publicKey: creationOptions(opts) });
            })
            .then(function (cred) {
                var resp = registrationJSON(cred);
                var name = nameField ? nameField.value.trim() : '';
                if (name)
                    resp.name = name;
                return postJSON('/.ztgate/webauthn/register/verify', resp);
            })
            .then(function (res) {
                if (!res || res.verified !== true)
                    throw new ServerError(res && res.message);
                // The server names the next page when the session ended (a Temporary
                // Access Pass is spent): sign in with the new passkey.
                window.location.assign(res.redirect || box.dataset.next || window.location.href);
            });
    }

    function setUp(box) {
        var button = box.querySelector('button');
        if (box.dataset.passkeyReady)
            return;
        box.dataset.passkeyReady = '1';
        var alert = box.querySelector('[role=alert]');
        var status = box.querySelector('[role=status]');
        if (!button)
            return;
        if (!window.PublicKeyCredential || !navigator.credentials ||
            typeof navigator.credentials.get !== 'function') {
            button.hidden = true;
            button.disabled = true;
            show(status, box.dataset.msgUnsupported);
            return;
        }
        button.hidden = false;
        var ceremony = box.dataset.passkey === 'register' ? register : signIn;
        button.addEventListener('click', function () {
            button.disabled = true;
            show(alert, '');
            ceremony(box).catch(function (err) {
                show(alert, errorText(box, err));
                button.disabled = false;
            });
        });
    }

    function start() {
        var boxes = document.querySelectorAll('[data-passkey]');
        for (var i = 0; i < boxes.length; i++)
            setUp(boxes[i]);
    }

    if (document.readyState === 'loading')
        document.addEventListener('DOMContentLoaded', start);
    else
        start();
})();
