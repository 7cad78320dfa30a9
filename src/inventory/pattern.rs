//! Host patterns, as `ansible-playbook` reads `hosts:` and `--limit`.
//!
//! A pattern is terms joined by `:` or `,`. A bare term adds hosts (union), `&term` keeps
//! only hosts also in it (intersection), `!term` removes hosts (exclusion). A term is `all`
//! or `*`, a group or host name, a glob (`web*`, `db-?`), a regular expression after `~`,
//! or `@file` (one host name a line, as `.retry` files hold).

use std::collections::BTreeSet;

use super::Inventory;

/// The hosts `pattern` selects, in inventory order.
pub fn select(inventory: &Inventory, pattern: &str) -> Result<Vec<String>, String> {
    let mut include: Option<BTreeSet<String>> = None;
    let mut intersect: Vec<BTreeSet<String>> = Vec::new();
    let mut exclude = BTreeSet::new();
    for term in split_terms(pattern) {
        if let Some(term) = term.strip_prefix('&') {
            intersect.push(matching(inventory, term)?);
        } else if let Some(term) = term.strip_prefix('!') {
            exclude.extend(matching(inventory, term)?);
        } else {
            include
                .get_or_insert_with(BTreeSet::new)
                .extend(matching(inventory, term)?);
        }
    }
    // A pattern of only `&`/`!` terms starts from every host, as in Ansible.
    let mut selected = include.unwrap_or_else(|| explicit_hosts(inventory).cloned().collect());
    for set in intersect {
        selected.retain(|h| set.contains(h));
    }
    selected.retain(|h| !exclude.contains(h));
    Ok(inventory
        .hosts
        .keys()
        .filter(|h| selected.contains(*h))
        .cloned()
        .collect())
}

/// Check what in `pattern` can be wrong without an inventory: each regular expression
/// (`~...`) and glob compiles. For `--limit`, whose mistakes are bad options (exit 5), not a
/// bad playbook or inventory.
pub fn check_syntax(pattern: &str) -> Result<(), String> {
    for term in split_terms(pattern) {
        let term = term.trim_start_matches(['&', '!']);
        if let Some(expression) = term.strip_prefix('~') {
            compile_regex(term, expression)?;
        } else if !term.starts_with('@') && term.contains(['*', '?', '[']) {
            compile_glob(term)?;
        }
    }
    Ok(())
}

fn compile_regex(term: &str, expression: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(expression)
        .map_err(|error| format!("bad regular expression in host pattern `{term}`: {error}"))
}

fn compile_glob(term: &str) -> Result<glob::Pattern, String> {
    glob::Pattern::new(term).map_err(|error| format!("bad glob in host pattern `{term}`: {error}"))
}

/// Every host but the implicit `localhost`.
fn explicit_hosts(inventory: &Inventory) -> impl Iterator<Item = &String> {
    inventory.hosts.keys().filter(|h| !inventory.is_implicit(h))
}

fn split_terms(pattern: &str) -> Vec<&str> {
    pattern
        .split([':', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

fn matching(inventory: &Inventory, term: &str) -> Result<BTreeSet<String>, String> {
    if term == "all" || term == "*" {
        return Ok(explicit_hosts(inventory).cloned().collect());
    }
    if let Some(path) = term.strip_prefix('@') {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read host list `{path}`: {error}"))?;
        return Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && inventory.hosts.contains_key(*l))
            .map(str::to_owned)
            .collect());
    }
    let members = |group: &str| -> BTreeSet<String> {
        inventory
            .hosts
            .keys()
            .filter(|h| inventory.groups_of(h).contains(group))
            .cloned()
            .collect()
    };
    if let Some(expression) = term.strip_prefix('~') {
        let regex = compile_regex(term, expression)?;
        return Ok(names_matching(
            inventory,
            |name| regex.is_match(name),
            members,
        ));
    }
    if inventory.groups.contains_key(term) {
        return Ok(members(term));
    }
    if inventory.hosts.contains_key(term) {
        return Ok(BTreeSet::from([term.to_owned()]));
    }
    if term.contains(['*', '?', '[']) {
        let glob = compile_glob(term)?;
        return Ok(names_matching(
            inventory,
            |name| glob.matches(name),
            members,
        ));
    }
    Ok(BTreeSet::new())
}

/// Hosts whose name matches, and the members of groups whose name matches.
fn names_matching(
    inventory: &Inventory,
    matches: impl Fn(&str) -> bool,
    members: impl Fn(&str) -> BTreeSet<String>,
) -> BTreeSet<String> {
    let mut hosts: BTreeSet<String> = explicit_hosts(inventory)
        .filter(|h| matches(h))
        .cloned()
        .collect();
    for group in inventory.groups.keys().filter(|g| matches(g)) {
        hosts.extend(members(group));
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory() -> Inventory {
        let mut inventory = Inventory::default();
        for (host, group) in [
            ("us1", "us"),
            ("us2", "us"),
            ("eu1", "eu"),
            ("db1", "db"),
            ("us1", "db"),
        ] {
            inventory.add_host_to_group(host, group);
        }
        inventory.add_child("quay", "us");
        inventory.add_child("quay", "eu");
        inventory.finish();
        inventory
    }

    #[test]
    fn patterns_combine_like_ansible() {
        let inventory = inventory();
        let s = |p: &str| select(&inventory, p).unwrap().join(",");
        assert_eq!(s("all"), "us1,us2,eu1,db1");
        assert_eq!(s("quay"), "us1,us2,eu1");
        assert_eq!(s("us:eu"), "us1,us2,eu1");
        assert_eq!(s("quay:&db"), "us1");
        assert_eq!(s("quay:!us"), "eu1");
        assert_eq!(s("us*"), "us1,us2");
        assert_eq!(s("~^(eu|db)1$"), "eu1,db1");
        assert_eq!(s("nothing"), "");
        assert_eq!(s("!db"), "us2,eu1");
    }

    #[test]
    fn bad_expressions_and_globs_are_found_without_an_inventory() {
        assert_eq!(check_syntax("us*:~^(eu|db)1$:!db:@hosts.retry"), Ok(()));
        let error = check_syntax("us:!~(eu").unwrap_err();
        assert!(
            error.starts_with("bad regular expression in host pattern `~(eu`: "),
            "{error}"
        );
        let error = check_syntax("&web[").unwrap_err();
        assert!(
            error.starts_with("bad glob in host pattern `web[`: "),
            "{error}"
        );
    }
}
