## CloudCX Auth 的电子邮件：简体中文。
## 每条消息都须与英文目录（en/mail.ftl）一一对应，变量相同（由单元测试检查）。

## 一次性验证码。$purpose：sign-in（登录）、confirmation（身份确认）或 verification（设置双重验证）。

code-subject = { $purpose ->
        [sign-in] 您的 CloudCX 登录验证码
        [confirmation] 您的 CloudCX 身份确认验证码
       *[other] 您的 CloudCX 验证码
    }
code-body =
    { $purpose ->
        [sign-in] 您的 CloudCX 登录验证码是：{$code}
        [confirmation] 您的 CloudCX 身份确认验证码是：{$code}
       *[other] 您的 CloudCX 验证码是：{$code}
    }

    验证码 10 分钟内有效。如果这不是您本人的操作，可能有人已经知道您的密码，请立即修改密码。

## 安全通知。

two-factor-enabled-subject = 双重验证已开启
two-factor-enabled-body =
    您的 CloudCX 账户已开启双重验证。

    如果这不是您本人的操作，请立即联系您的管理员。

two-factor-disabled-subject = 双重验证已关闭
two-factor-disabled-body =
    您的 CloudCX 账户已关闭双重验证。

    如果这不是您本人的操作，请修改密码并联系您的管理员。

backup-codes-regenerated-subject = 新的备用码
backup-codes-regenerated-body = 您的 CloudCX 账户已生成一组新的备用码，原有备用码已全部失效。

backup-codes-running-low-subject = 仅剩两个备用码
backup-codes-running-low-body = 您的 CloudCX 账户仅剩两个未使用的备用码。请在“安全设置”中生成一组新的备用码。

two-factor-reset-by-admin-subject = 您的双重验证已被重置
two-factor-reset-by-admin-body = 管理员已移除您 CloudCX 账户的双重验证和通行密钥，并已将您从所有设备上退出登录。请在下次登录后重新设置。

second-factor-guessed-subject = 有人正在尝试登录您的账户
second-factor-guessed-body = 您的 CloudCX 账户多次输入了错误的双重验证码。您的密码可能已被他人知晓：请修改密码并联系您的管理员。

## 新设备登录。$device：浏览器和操作系统；$address：IP 地址；$time：时间（RFC 3339，UTC）。

new-sign-in-subject = 您的 CloudCX 账户有新的登录
new-sign-in-body =
    您的 CloudCX 账户在一台新设备上登录：{$device}，IP 地址 {$address}，时间 {$time}。

    如果这不是您本人的操作，请修改密码，并在“安全设置”中将其他设备退出登录。
# 请求中没有地址时代替 $address。
unknown-address = 未知

## 密码。

password-changed-subject = 您的 CloudCX 密码已修改
password-changed-body = 您的 CloudCX 账户密码已修改，您的其他设备均已退出登录。如果这不是您本人的操作，请立即联系您的管理员。

reset-link-subject = 重置您的 CloudCX 密码
reset-link-body =
    有人请求重置您的 CloudCX 账户密码。

    如需设置新密码，请在 30 分钟内打开以下链接：
    {$link}

    如果这不是您本人的操作，请忽略此邮件：您的密码不会改变。

password-reset-subject = 您的 CloudCX 密码已重置
password-reset-body = 您的 CloudCX 账户密码已通过重置链接重置，所有设备均已退出登录。如果这不是您本人的操作，请立即联系您的管理员。
# 其后每行列出一个单点登录账户。
password-reset-removed = 以下单点登录账户是在您上次设置密码之后关联的，知道旧密码的人也可能关联它们，因此已被取消关联。如果它们属于您，请在“安全设置”中重新关联：
# 其后每行列出一个单点登录账户，再接 password-reset-kept-how。
password-reset-kept = 以下单点登录账户仍保持关联，仍可用于登录您的账户：
password-reset-kept-how = 如果其中有不属于您的账户，请登录后取消关联：安全设置 > 单点登录（SSO） > 取消关联。
# 列表中的一个单点登录账户。$application：如 Google；$email：外部账户的电子邮件地址。
connection-line-with-email = - {$application}（{$email}）
connection-line = - {$application}

## 通行密钥。$name：用户为通行密钥起的名称。

passkey-added-subject = 您的 CloudCX 账户添加了通行密钥
passkey-added-body =
    您的 CloudCX 账户添加了名为“{$name}”的通行密钥，它无需密码即可登录您的账户。

    如果这不是您本人的操作，请在“安全设置 > 通行密钥”中将其移除，修改密码并联系您的管理员。

passkey-removed-subject = 您的 CloudCX 账户移除了通行密钥
passkey-removed-body =
    名为“{$name}”的通行密钥已从您的 CloudCX 账户中移除，无法再用于登录。

    如果这不是您本人的操作，请修改密码并联系您的管理员。

## 单点登录关联。$application：应用名称（如 Google）；$email：外部账户的电子邮件地址。

sso-connected-subject = 已关联 {$application} 账户
sso-connected-body = {$application} 账户 {$email} 已关联到您的 CloudCX 账户。如果这不是您本人的操作，请在“安全设置”中取消关联并联系您的管理员。
sso-connected-body-no-email = 一个 {$application} 账户（无电子邮件地址）已关联到您的 CloudCX 账户。如果这不是您本人的操作，请在“安全设置”中取消关联并联系您的管理员。

sso-disconnected-subject = 已解除 {$application} 账户的关联
sso-disconnected-body = {$application} 账户 {$email} 已与您的 CloudCX 账户取消关联。
sso-disconnected-body-no-email = 一个 {$application} 账户已与您的 CloudCX 账户取消关联。
# 应用已被删除时使用的名称。
sso-unknown-application = 单点登录
