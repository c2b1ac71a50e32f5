//! The words of the mails: one Fluent catalog per language (`api/locales/<tag>/mail.ftl`),
//! embedded in the binary at build time. [`super::letters`] says which messages a mail is made of.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

use crate::domain::Locale;

/// The catalog source of a language, as embedded.
pub fn source(locale: Locale) -> &'static str {
    match locale {
        Locale::En => include_str!("../../locales/en/mail.ftl"),
        Locale::ZhCn => include_str!("../../locales/zh-CN/mail.ftl"),
    }
}

/// One bundle per language, in [`Locale::ALL`]'s order, built on first use.
static BUNDLES: LazyLock<Vec<FluentBundle<FluentResource>>> =
    LazyLock::new(|| Locale::ALL.into_iter().map(bundle).collect());

fn bundle(locale: Locale) -> FluentBundle<FluentResource> {
    // A catalog that does not parse fully keeps the messages that did (a unit test holds every
    // catalog to parsing whole); what is missing falls back to English.
    let resource = FluentResource::try_new(source(locale).to_string()).unwrap_or_else(|(partial, errors)| {
        tracing::error!(locale = %locale, ?errors, "a mail catalog has syntax errors");
        partial
    });
    let lang = match locale {
        Locale::En => unic_langid::langid!("en"),
        Locale::ZhCn => unic_langid::langid!("zh-CN"),
    };
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // Plain-text mail: no Unicode isolation marks around the values put in.
    bundle.set_use_isolating(false);
    bundle.add_resource_overriding(resource);
    bundle
}

fn bundle_of(locale: Locale) -> &'static FluentBundle<FluentResource> {
    let i = Locale::ALL.iter().position(|l| *l == locale).unwrap_or(0);
    &BUNDLES[i]
}

/// Message `id` in `locale` with `args` put in; in English when the language lacks it; the id
/// itself when no language has it (a unit test proves neither happens).
pub fn text(locale: Locale, id: &str, args: &[(&str, &str)]) -> String {
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, *value);
    }
    for bundle in [bundle_of(locale), bundle_of(Locale::En)] {
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
            if !errors.is_empty() {
                tracing::error!(id, locale = %locale, ?errors, "a mail message did not render cleanly");
            }
            return text.into_owned();
        }
        tracing::error!(id, locale = %locale, "a mail message is missing from the catalog");
    }
    id.to_string()
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;

    use super::*;

    /// Every message of a catalog with the variables it uses (in its value, selectors included).
    fn messages(locale: Locale) -> BTreeMap<String, BTreeSet<String>> {
        let resource = fluent_syntax::parser::parse(source(locale))
            .unwrap_or_else(|(_, errors)| panic!("{locale}/mail.ftl does not parse: {errors:?}"));
        let mut out = BTreeMap::new();
        for entry in resource.body {
            match entry {
                ast::Entry::Message(m) => {
                    let mut vars = BTreeSet::new();
                    let value = m.value.unwrap_or_else(|| panic!("{locale}: {} has no value", m.id.name));
                    pattern_variables(&value, &mut vars);
                    assert!(m.attributes.is_empty(), "{locale}: {} has attributes (not used)", m.id.name);
                    out.insert(m.id.name.to_string(), vars);
                }
                ast::Entry::Term(t) => panic!("{locale}: term -{} (terms are not used)", t.id.name),
                ast::Entry::Junk { content } => panic!("{locale}: junk in the catalog: {content}"),
                _ => {}
            }
        }
        out
    }

    fn pattern_variables(p: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
        for element in &p.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                expression_variables(expression, out);
            }
        }
    }

    fn expression_variables(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
        match e {
            ast::Expression::Select { selector, variants } => {
                inline_variables(selector, out);
                for v in variants {
                    pattern_variables(&v.value, out);
                }
            }
            ast::Expression::Inline(i) => inline_variables(i, out),
        }
    }

    fn inline_variables(i: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
        match i {
            ast::InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_string());
            }
            ast::InlineExpression::Placeable { expression } => expression_variables(expression, out),
            ast::InlineExpression::MessageReference { id, .. } => panic!("message reference {} (not used)", id.name),
            _ => {}
        }
    }

    #[test]
    fn every_message_exists_in_every_language_with_the_same_variables() {
        let english = messages(Locale::En);
        assert!(english.len() > 30, "the English catalog is all there");
        for locale in Locale::ALL {
            let other = messages(locale);
            let (ids, english_ids): (BTreeSet<_>, BTreeSet<_>) = (other.keys().collect(), english.keys().collect());
            assert_eq!(ids, english_ids, "{locale} has the same messages as English");
            for (id, vars) in &english {
                assert_eq!(&other[id], vars, "{locale}: {id} uses the same variables as in English");
            }
        }
    }

    #[test]
    fn every_message_renders_without_ids_braces_or_isolation_marks() {
        for locale in Locale::ALL {
            for (id, vars) in messages(locale) {
                let args: Vec<(&str, &str)> = vars.iter().map(|v| (v.as_str(), "VALUE")).collect();
                let text = text(locale, &id, &args);
                assert!(!text.trim().is_empty(), "{locale}: {id} is empty");
                assert!(!text.contains(&id), "{locale}: {id} rendered as its id: {text}");
                assert!(!text.contains(['{', '}', '$', '\u{2068}', '\u{2069}']), "{locale}: {id}: {text}");
                // `$purpose` only chooses among variants; every other variable is shown.
                if vars.iter().any(|v| v != "purpose") {
                    assert!(text.contains("VALUE"), "{locale}: {id} shows its variables: {text}");
                }
            }
        }
    }

    #[test]
    fn a_blank_line_in_a_message_is_a_paragraph_break() {
        let text = text(Locale::En, "code-body", &[("purpose", "sign-in"), ("code", "123456")]);
        assert_eq!(
            text,
            "Your CloudCX sign-in code is 123456\n\nIt expires in 10 minutes. If you did not ask for it, someone may know your password: change it."
        );
    }

    #[test]
    fn a_missing_message_falls_back_to_its_id() {
        assert_eq!(text(Locale::ZhCn, "no-such-message", &[]), "no-such-message");
    }
}
