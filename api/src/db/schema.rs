// Written by hand to match migrations/{postgres,sqlite}: both databases share these types.

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        created_at -> BigInt,
        require_2fa -> Bool,
        passkeys_enabled -> Bool,
        remember_device -> Bool,
        remember_device_days -> Integer,
        remembered_device_acr -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        tenant_id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        disabled -> Bool,
        created_at -> BigInt,
        last_sign_in_at -> Nullable<BigInt>,
        password_changed_at -> BigInt,
        locale -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_families (id) {
        id -> Text,
        user_id -> Text,
        tenant_id -> Text,
        created_at -> BigInt,
        auth_time -> BigInt,
        last_used_at -> BigInt,
        expires_at -> BigInt,
        amr -> Text,
        acr -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        revoked_at -> Nullable<BigInt>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        family_id -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    revocations (seq) {
        seq -> BigInt,
        kind -> Text,
        subject -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        at -> BigInt,
        kind -> Text,
        user_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Integer,
        locked_until -> Nullable<BigInt>,
        last_failure_at -> BigInt,
        pending -> Integer,
        reserved_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Text,
        window_start -> BigInt,
        count -> Integer,
    }
}

diesel::table! {
    user_mfa (user_id) {
        user_id -> Text,
        method -> Text,
        totp_secret -> Nullable<Text>,
        last_totp_step -> BigInt,
        enabled_at -> BigInt,
    }
}

diesel::table! {
    mfa_setups (user_id) {
        user_id -> Text,
        method -> Text,
        totp_secret -> Nullable<Text>,
        code_hash -> Nullable<Text>,
        expires_at -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    backup_code_sets (user_id) {
        user_id -> Text,
        id -> Text,
        sealed_codes -> Text,
        generated_at -> BigInt,
        downloaded_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    backup_codes (id) {
        id -> Text,
        user_id -> Text,
        set_id -> Text,
        position -> Integer,
        salt -> Text,
        code_hash -> Text,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    mfa_challenges (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        purpose -> Text,
        method -> Text,
        code_hash -> Nullable<Text>,
        code_expires_at -> Nullable<BigInt>,
        last_sent_at -> Nullable<BigInt>,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
        created_at -> BigInt,
        first_factor -> Text,
        link_token_hash -> Nullable<Text>,
    }
}

diesel::table! {
    mfa_throttle (user_id) {
        user_id -> Text,
        failures -> Integer,
        locked_until -> Nullable<BigInt>,
        last_failure_at -> BigInt,
        pending -> Integer,
        reserved_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        recipient -> Text,
        subject -> Text,
        sealed_body -> Text,
        created_at -> BigInt,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        sent_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    service_clients (client_id) {
        client_id -> Text,
        tenant_id -> Text,
        name -> Text,
        secret_hash -> Text,
        scopes -> Text,
        created_at -> BigInt,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    sso_providers (id) {
        id -> Text,
        tenant_id -> Text,
        kind -> Text,
        display_name -> Text,
        client_id -> Text,
        client_secret_sealed -> Text,
        issuer -> Text,
        microsoft_tenant -> Nullable<Text>,
        allowed_tenants -> Text,
        trust_idp_mfa -> Bool,
        enabled -> Bool,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    sso_attempts (state_hash) {
        state_hash -> Text,
        provider_id -> Text,
        tenant_id -> Text,
        intent -> Text,
        user_id -> Nullable<Text>,
        binding_hash -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        return_to -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sso_results (result_hash) {
        result_hash -> Text,
        binding_hash -> Text,
        intent -> Text,
        outcome -> Text,
        return_to -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sso_connections (id) {
        id -> Text,
        user_id -> Text,
        provider_id -> Text,
        issuer -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        connected_at -> BigInt,
    }
}

diesel::table! {
    sso_link_tokens (token_hash) {
        token_hash -> Text,
        tenant_id -> Text,
        provider_id -> Text,
        issuer -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        binding_hash -> Text,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    password_resets (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        credential_id -> Text,
        credential -> Text,
        name -> Text,
        backup_eligible -> Bool,
        backed_up -> Bool,
        sign_count -> BigInt,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webauthn_challenges (id) {
        id -> Text,
        tenant_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        purpose -> Text,
        state -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    trusted_devices (id) {
        id -> Text,
        tenant_id -> Text,
        user_id -> Text,
        token_hash -> Text,
        label -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(sso_connections -> sso_providers (provider_id));
diesel::joinable!(users -> tenants (tenant_id));
diesel::joinable!(passkeys -> users (user_id));
diesel::joinable!(trusted_devices -> users (user_id));
diesel::joinable!(user_mfa -> users (user_id));
diesel::joinable!(refresh_families -> users (user_id));
diesel::joinable!(refresh_tokens -> refresh_families (family_id));

diesel::allow_tables_to_appear_in_same_query!(
    tenants,
    users,
    refresh_families,
    refresh_tokens,
    revocations,
    audit_events,
    login_throttle,
    rate_limits,
    user_mfa,
    mfa_setups,
    backup_code_sets,
    backup_codes,
    mfa_challenges,
    mfa_throttle,
    outbox,
    service_clients,
    sso_providers,
    sso_attempts,
    sso_results,
    sso_connections,
    sso_link_tokens,
    password_resets,
    passkeys,
    webauthn_challenges,
    trusted_devices,
);
