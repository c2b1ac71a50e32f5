## The e-mails of CloudCX Auth, in English (the fallback language).
## Every message here exists in every other language, with the same variables (a unit test holds
## them to it). A mail is plain text: a blank line inside a message is a paragraph break.

## One-time codes. $purpose: sign-in, confirmation (re-authentication) or verification (2FA setup).

code-subject = Your CloudCX {$purpose} code
code-body =
    Your CloudCX {$purpose} code is {$code}

    It expires in 10 minutes. If you did not ask for it, someone may know your password: change it.

## Security notices.

two-factor-enabled-subject = Two-factor authentication is on
two-factor-enabled-body =
    Two-factor authentication was turned on for your CloudCX account.

    If this was not you, contact your administrator at once.

two-factor-disabled-subject = Two-factor authentication is off
two-factor-disabled-body =
    Two-factor authentication was turned off for your CloudCX account.

    If this was not you, change your password and contact your administrator.

backup-codes-regenerated-subject = New backup codes
backup-codes-regenerated-body = A new set of backup codes was generated for your CloudCX account. The old codes no longer work.

backup-codes-running-low-subject = Only two backup codes left
backup-codes-running-low-body = You have only two unused backup codes left for your CloudCX account. Generate a new set in Security Settings.

two-factor-reset-by-admin-subject = Your two-factor authentication was reset
two-factor-reset-by-admin-body = An administrator removed the two-factor authentication and the passkeys of your CloudCX account and signed you out everywhere. Set them up again after your next sign-in.

second-factor-guessed-subject = Someone is trying to sign in to your account
second-factor-guessed-body = Several wrong second-factor codes were entered for your CloudCX account. Your password may be known to someone else: change it and contact your administrator.

## A sign-in from a new device. $device: the browser and system; $address: the IP address;
## $time: when (RFC 3339, UTC).

new-sign-in-subject = New sign-in to your CloudCX account
new-sign-in-body =
    Your CloudCX account was signed in to from a new device: {$device}, address {$address}, at {$time}.

    If this was not you, change your password and sign out the other devices in Security Settings.
# Stands for $address when the request had none.
unknown-address = unknown

## Passwords.

password-changed-subject = Your CloudCX password was changed
password-changed-body = The password of your CloudCX account was changed and your other devices were signed out. If this was not you, contact your administrator at once.

reset-link-subject = Reset your CloudCX password
reset-link-body =
    Someone asked to reset the password of your CloudCX account.

    To choose a new one, open this link within 30 minutes:
    {$link}

    If this was not you, ignore this e-mail: your password stays as it is.

password-reset-subject = Your CloudCX password was reset
password-reset-body = The password of your CloudCX account was reset with a link and every device was signed out. If this was not you, contact your administrator at once.
# Followed by one line per single sign-on account.
password-reset-removed = These single sign-on accounts were connected since your previous password was set, so someone who knew it could have connected them. They were disconnected; connect them again from Security Settings if they are yours:
# Followed by one line per single sign-on account, then password-reset-kept-how.
password-reset-kept = These single sign-on accounts remain connected and can still sign you in:
password-reset-kept-how = If one of them is not yours, sign in and disconnect it: Security Settings > Single Sign-On (SSO) > Disconnect.
# One single sign-on account in a list. $application: e.g. Google; $email: the external account's address.
connection-line-with-email = - {$application} ({$email})
connection-line = - {$application}

## Passkeys. $name: the name the user gave the passkey.

passkey-added-subject = A passkey was added to your CloudCX account
passkey-added-body =
    A passkey named "{$name}" was added to your CloudCX account. It can sign you in without your password.

    If this was not you, remove it in Security Settings > Passkeys, change your password and contact your administrator.

passkey-removed-subject = A passkey was removed from your CloudCX account
passkey-removed-body =
    The passkey named "{$name}" was removed from your CloudCX account and can no longer sign you in.

    If this was not you, change your password and contact your administrator.

## Single sign-on connections. $application: the application's name (e.g. Google);
## $email: the external account's address.

sso-connected-subject = {$application} account connected
sso-connected-body = The {$application} account {$email} was connected to your CloudCX account. If this was not you, disconnect it in Security Settings and contact your administrator.
sso-connected-body-no-email = The {$application} account (no e-mail) was connected to your CloudCX account. If this was not you, disconnect it in Security Settings and contact your administrator.

sso-disconnected-subject = {$application} account disconnected
sso-disconnected-body = The {$application} account {$email} was disconnected from your CloudCX account.
sso-disconnected-body-no-email = The {$application} account was disconnected from your CloudCX account.
# The application's name when it was deleted meanwhile.
sso-unknown-application = SSO
