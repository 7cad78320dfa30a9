//! Ansible inventories, read unchanged: YAML and INI files, directories of them, and
//! `group_vars/` and `host_vars/` beside them.

mod ini;
mod pattern;
mod yaml;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use crate::diagnostic::Diagnostic;
use crate::vars::Vars;

pub use pattern::{check_syntax as check_pattern, select};

#[derive(Debug, Default, Clone)]
pub struct Host {
    pub name: String,
    /// Variables set on the host's inventory line or entry.
    pub vars: Vars,
    pub origins: crate::vars::Origins,
    /// Variables from `host_vars/HOST`, which win over the inventory's.
    pub file_vars: Vars,
    pub file_origins: crate::vars::Origins,
    /// Variables from `host_vars/HOST` beside the playbook, which win over those beside
    /// the inventory.
    pub playbook_vars: Vars,
    pub playbook_origins: crate::vars::Origins,
}

#[derive(Debug, Default, Clone)]
pub struct Group {
    pub name: String,
    /// Variables set in the inventory file (`vars:`, `[group:vars]`).
    pub vars: Vars,
    pub origins: crate::vars::Origins,
    /// Variables from `group_vars/GROUP`, which win over every inventory-file group's.
    pub file_vars: Vars,
    pub file_origins: crate::vars::Origins,
    /// Variables from `group_vars/GROUP` beside the playbook, which win over the same
    /// group's beside the inventory.
    pub playbook_vars: Vars,
    pub playbook_origins: crate::vars::Origins,
    pub hosts: Vec<String>,
    pub children: Vec<String>,
}

/// The most host names the inventories of one run may write, ranges expanded (a name
/// written twice counts twice): far beyond any fleet quayside runs, and it keeps a line
/// such as `h[0:99999999]`, or one range on every line of a large file, from costing
/// minutes and gigabytes.
pub const MAX_HOST_NAMES: usize = 100_000;

/// Every host and group of a run, in the order they were first written.
#[derive(Debug, Default, Clone)]
pub struct Inventory {
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// `localhost` when no inventory names it: it can be targeted by name, with a local
    /// connection, but is not in `all`, as in Ansible.
    pub implicit_localhost: bool,
    /// `(group, host)` for every host in a group: adding a host is not a walk of the group.
    membership: HashSet<(String, String)>,
    /// Host names written so far, against [`MAX_HOST_NAMES`].
    names_written: usize,
    /// Hosts written directly under `all` (`all.hosts` lists every host).
    all_direct: Vec<String>,
    /// Files of an inventory directory that no inventory format could read, each with why,
    /// to be shown as warnings (as Ansible does) rather than refuse the run.
    pub warnings: Vec<String>,
}

/// Which files of an inventory directory are read, as Ansible's INVENTORY_IGNORE_EXTS,
/// INVENTORY_IGNORE_PATTERNS and INVENTORY_ANY_UNPARSED_IS_FAILED decide.
#[derive(Debug, Clone)]
pub struct DirRules {
    /// Name endings passed over (Ansible's default: `.pyc .pyo .swp .bak ~ .rpm .md .txt
    /// .rst .orig .cfg .retry`).
    pub ignore_extensions: Vec<String>,
    /// Regular expressions: a name any of them finds is passed over.
    pub ignore_patterns: Vec<regex::Regex>,
    /// A file no format can read refuses the run instead of being a warning.
    pub any_unparsed_is_failed: bool,
}

/// Ansible's INVENTORY_IGNORE_EXTS by default.
pub const DEFAULT_IGNORE_EXTENSIONS: &[&str] = &[
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

impl Default for DirRules {
    fn default() -> Self {
        DirRules {
            ignore_extensions: DEFAULT_IGNORE_EXTENSIONS
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
            ignore_patterns: Vec::new(),
            any_unparsed_is_failed: false,
        }
    }
}

impl DirRules {
    /// Whether a directory entry is passed over: hidden names, `group_vars`, `host_vars`
    /// and `vars_plugins` always, then the configured endings and patterns.
    fn ignores(&self, name: &str) -> bool {
        name.starts_with('.')
            || matches!(name, "group_vars" | "host_vars" | "vars_plugins")
            || self
                .ignore_extensions
                .iter()
                .any(|e| name.ends_with(e.as_str()))
            || self.ignore_patterns.iter().any(|p| p.is_match(name))
    }
}

impl Inventory {
    /// Read every inventory source given with `-i`: files, or directories of files, with
    /// Ansible's default rules for directories.
    pub fn load(sources: &[PathBuf]) -> Result<Inventory, Diagnostic> {
        Self::load_with(sources, &DirRules::default())
    }

    /// Read every inventory source: a file given by name must be readable; in a directory
    /// (and the directories under it), files the rules ignore are passed over and a file
    /// no format can read is a warning, as in Ansible.
    pub fn load_with(sources: &[PathBuf], rules: &DirRules) -> Result<Inventory, Diagnostic> {
        let mut inventory = Inventory::default();
        inventory.group_mut("all");
        inventory.group_mut("ungrouped");
        for source in sources {
            let text = source.to_string_lossy();
            if text.contains(',') && !source.exists() {
                ini::load_host_list(&mut inventory, &text)?;
                continue;
            }
            let metadata = std::fs::metadata(source).map_err(|error| {
                Diagnostic::new(format!(
                    "cannot read inventory `{}`: {error}",
                    source.display()
                ))
            })?;
            if metadata.is_dir() {
                inventory.load_dir(source, rules)?;
                inventory.load_vars_dirs(source)?;
            } else {
                inventory.load_file(source)?;
                let parent = source.parent().unwrap_or(Path::new("."));
                inventory.load_vars_dirs(if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                })?;
            }
        }
        inventory.finish();
        Ok(inventory)
    }

    /// Every entry of an inventory directory the rules do not ignore, in name order;
    /// directories under it are read the same way.
    fn load_dir(&mut self, dir: &Path, rules: &DirRules) -> Result<(), Diagnostic> {
        for path in read_dir_sorted(dir)? {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if rules.ignores(name) {
                continue;
            }
            if path.is_dir() {
                self.load_dir(&path, rules)?;
                continue;
            }
            // A file that fails leaves nothing of itself behind.
            let mut attempt = self.clone();
            match attempt.load_file(&path) {
                Ok(()) => *self = attempt,
                Err(error) if !rules.any_unparsed_is_failed => {
                    self.warnings.push(format!(
                        "Unable to parse {} as an inventory source: {}",
                        path.display(),
                        error.headline()
                    ));
                }
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    fn load_file(&mut self, path: &Path) -> Result<(), Diagnostic> {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if matches!(extension, "yml" | "yaml" | "json") {
            yaml::load(self, path)
        } else {
            ini::load(self, path)
        }
    }

    /// `group_vars/` and `host_vars/` beside the inventory, in `dir`.
    pub fn load_vars_dirs(&mut self, dir: &Path) -> Result<(), Diagnostic> {
        self.load_vars_dirs_as(dir, false)
    }

    /// `group_vars/` and `host_vars/` beside the playbook, in `dir`: each group's win over
    /// the same group's beside the inventory, and host_vars over host_vars, as in Ansible.
    pub fn load_playbook_vars_dirs(&mut self, dir: &Path) -> Result<(), Diagnostic> {
        self.load_vars_dirs_as(dir, true)
    }

    /// `group_vars/` and `host_vars/` in `dir`, each entry a file (`NAME`, `NAME.yml`,
    /// `NAME.yaml`, `NAME.json`) or a folder of such files.
    fn load_vars_dirs_as(&mut self, dir: &Path, playbook: bool) -> Result<(), Diagnostic> {
        for (kind, is_group) in [("group_vars", true), ("host_vars", false)] {
            let folder = dir.join(kind);
            if !folder.is_dir() {
                continue;
            }
            for entry in read_dir_sorted(&folder)? {
                let file_name = entry.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if file_name.starts_with('.') {
                    continue;
                }
                let name = match Path::new(file_name).extension().and_then(|e| e.to_str()) {
                    Some("yml" | "yaml" | "json") => file_name
                        .rsplit_once('.')
                        .map_or(file_name, |(stem, _)| stem),
                    Some(_) if !entry.is_dir() => continue,
                    _ => file_name,
                };
                let files = if entry.is_dir() {
                    let mut files = read_dir_sorted(&entry)?;
                    files.retain(|p| is_vars_file(p));
                    files
                } else {
                    vec![entry.clone()]
                };
                for file in files {
                    let (vars, origins) = crate::vars::load_vars_file_with_origins(&file)?;
                    let (target, target_origins) = if is_group {
                        // Nor do `group_vars/` add a group.
                        let Some(group) = self.groups.get_mut(name) else {
                            continue;
                        };
                        if playbook {
                            (&mut group.playbook_vars, &mut group.playbook_origins)
                        } else {
                            (&mut group.file_vars, &mut group.file_origins)
                        }
                    } else {
                        // As Ansible: `host_vars/` of a host the inventory does not name
                        // is ignored; it adds no host.
                        let Some(host) = self.hosts.get_mut(name) else {
                            continue;
                        };
                        if playbook {
                            (&mut host.playbook_vars, &mut host.playbook_origins)
                        } else {
                            (&mut host.file_vars, &mut host.file_origins)
                        }
                    };
                    target.extend(vars);
                    target_origins.extend(origins);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn group_mut(&mut self, name: &str) -> &mut Group {
        self.groups.entry(name.to_owned()).or_insert_with(|| Group {
            name: name.to_owned(),
            ..Group::default()
        })
    }

    pub(crate) fn host_mut(&mut self, name: &str) -> &mut Host {
        self.hosts.entry(name.to_owned()).or_insert_with(|| Host {
            name: name.to_owned(),
            ..Host::default()
        })
    }

    pub(crate) fn add_host_to_group(&mut self, host: &str, group: &str) {
        self.host_mut(host);
        if self.membership.insert((group.to_owned(), host.to_owned())) {
            self.group_mut(group).hosts.push(host.to_owned());
        }
    }

    /// The host names a host pattern of an inventory file stands for (`web[01:03]`),
    /// counted against [`MAX_HOST_NAMES`].
    pub(crate) fn host_names(&mut self, pattern: &str) -> Result<Vec<String>, String> {
        let left = MAX_HOST_NAMES - self.names_written;
        let names = expand_range(pattern, left).map_err(|error| match error {
            RangeError::Invalid(message) => message,
            RangeError::TooMany => format!(
                "`{pattern}` brings the inventory to more than {MAX_HOST_NAMES} host names \
                 (ranges expanded); quayside reads no larger inventories"
            ),
        })?;
        self.names_written += names.len();
        Ok(names)
    }

    pub(crate) fn add_child(&mut self, parent: &str, child: &str) {
        self.group_mut(child);
        let group = self.group_mut(parent);
        if !group.children.iter().any(|c| c == child) {
            group.children.push(child.to_owned());
        }
    }

    /// After all sources are read: every host is in `all`, hosts in no group are in
    /// `ungrouped`, and every group that is nobody's child is a child of `all`.
    fn finish(&mut self) {
        let names: Vec<String> = self.hosts.keys().cloned().collect();
        let grouped: BTreeSet<String> = self
            .groups
            .values()
            .filter(|g| g.name != "all" && g.name != "ungrouped")
            .flat_map(|g| g.hosts.iter().cloned())
            .collect();
        for name in &names {
            if !grouped.contains(name) {
                self.add_host_to_group(name, "ungrouped");
            }
        }
        let children: BTreeSet<String> = self
            .groups
            .values()
            .flat_map(|g| g.children.iter().cloned())
            .collect();
        let top: Vec<String> = self
            .groups
            .keys()
            .filter(|name| *name != "all" && !children.contains(*name))
            .cloned()
            .collect();
        for group in top {
            self.add_child("all", &group);
        }
        self.all_direct = self.group_mut("all").hosts.clone();
        self.group_mut("all").hosts = names;
        if !self.hosts.contains_key("localhost") {
            let mut vars = Vars::new();
            vars.insert("ansible_connection".into(), "local".into());
            self.hosts.insert(
                "localhost".to_owned(),
                Host {
                    name: "localhost".to_owned(),
                    vars,
                    ..Host::default()
                },
            );
            self.implicit_localhost = true;
        }
    }

    /// Whether `host` is the implicit `localhost`, which only its own name selects.
    pub fn is_implicit(&self, host: &str) -> bool {
        self.implicit_localhost && host == "localhost"
    }

    /// The groups a host is in, directly or through children, `all` included.
    pub fn groups_of(&self, host: &str) -> BTreeSet<String> {
        let mut groups = BTreeSet::new();
        for group in self.groups.values() {
            if group.hosts.iter().any(|h| h == host) {
                self.add_with_parents(&group.name, &mut groups);
            }
        }
        groups
    }

    fn add_with_parents(&self, group: &str, into: &mut BTreeSet<String>) {
        if !into.insert(group.to_owned()) {
            return;
        }
        for parent in self.groups.values() {
            if parent.children.iter().any(|c| c == group) {
                self.add_with_parents(&parent.name, into);
            }
        }
    }

    /// Depth of a group below `all` (`all` is 0), the order in which group variables apply.
    fn depth(&self, group: &str, seen: &mut Vec<String>) -> usize {
        if group == "all" || seen.iter().any(|g| g == group) {
            return 0;
        }
        seen.push(group.to_owned());
        let depth = self
            .groups
            .values()
            .filter(|parent| parent.children.iter().any(|c| c == group))
            .map(|parent| self.depth(&parent.name, seen) + 1)
            .max()
            .unwrap_or(1);
        seen.pop();
        depth
    }

    /// Where a host's inventory variables come from, lowest precedence first, as Ansible
    /// orders them: the inventory file's group variables (group `all`, parent groups,
    /// child groups: deeper groups win, then names in order), then `group_vars/` files in
    /// the same order (for each group, beside the inventory then beside the playbook), the
    /// host's own variables in the inventory file, then `host_vars/HOST` beside the
    /// inventory, then beside the playbook.
    fn sources(&self, host: &str) -> Vec<(&Vars, &crate::vars::Origins)> {
        let mut groups: Vec<(usize, String)> = self
            .groups_of(host)
            .into_iter()
            .map(|g| (self.depth(&g, &mut Vec::new()), g))
            .collect();
        groups.sort();
        let groups: Vec<&Group> = groups
            .iter()
            .filter_map(|(_, name)| self.groups.get(name))
            .collect();
        let mut sources: Vec<(&Vars, &crate::vars::Origins)> = Vec::new();
        sources.extend(groups.iter().map(|g| (&g.vars, &g.origins)));
        for group in &groups {
            sources.push((&group.file_vars, &group.file_origins));
            sources.push((&group.playbook_vars, &group.playbook_origins));
        }
        if let Some(host) = self.hosts.get(host) {
            sources.push((&host.vars, &host.origins));
            sources.push((&host.file_vars, &host.file_origins));
            sources.push((&host.playbook_vars, &host.playbook_origins));
        }
        sources
    }

    /// A host's inventory variables, in Ansible's precedence (see [`Inventory::sources`]).
    pub fn host_vars(&self, host: &str) -> Vars {
        let mut vars = Vars::new();
        for (source, _) in self.sources(host) {
            vars.extend(source.clone());
        }
        vars
    }

    /// Where the value of a host's variable was written, as [`Inventory::host_vars`] picks
    /// it, when it came from a YAML file.
    pub fn var_origin(&self, host: &str, name: &str) -> Option<crate::source::Span> {
        self.sources(host)
            .into_iter()
            .rev()
            .find(|(vars, _)| vars.contains_key(name))
            .and_then(|(_, origins)| origins.get(name).cloned())
    }

    /// `groups` as Ansible gives it to templates: each group's hosts, with children's.
    pub fn group_members(&self) -> BTreeMap<String, Vec<String>> {
        self.groups
            .keys()
            .map(|group| (group.clone(), self.members_in_order(group)))
            .collect()
    }

    /// A group's hosts in Ansible's order: the group's own hosts, then those of its
    /// children, level by level (so `groups['all']` lists `db1` of a top group before the
    /// hosts of the groups below `quay`).
    fn members_in_order(&self, group: &str) -> Vec<String> {
        let children = |name: &str| -> Vec<String> {
            let mut kids = self
                .groups
                .get(name)
                .map(|g| g.children.clone())
                .unwrap_or_default();
            if name == "all" {
                // `ungrouped` is the first child of `all`, as Ansible creates it.
                kids.retain(|k| k != "ungrouped");
                kids.insert(0, "ungrouped".to_owned());
            }
            kids
        };
        let mut order = vec![group.to_owned()];
        let mut level = children(group);
        while !level.is_empty() {
            let mut next = Vec::new();
            for name in level {
                if order.contains(&name) {
                    continue;
                }
                next.extend(children(&name));
                order.push(name);
            }
            level = next;
        }
        let mut hosts: Vec<String> = Vec::new();
        for name in &order {
            let direct: &[String] = if name == "all" {
                &self.all_direct
            } else {
                self.groups.get(name).map_or(&[], |g| &g.hosts)
            };
            for host in direct {
                if !hosts.contains(host) && !self.is_implicit(host) {
                    hosts.push(host.clone());
                }
            }
        }
        hosts
    }
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| Diagnostic::new(format!("cannot read `{}`: {error}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

fn is_vars_file(path: &Path) -> bool {
    path.is_file()
        && matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml" | "json") | None
        )
}

/// Expand Ansible's host ranges: `web[01:03].example.com` → web01, web02, web03;
/// `db-[a:c]` → db-a, db-b, db-c.
/// Why a host pattern has no names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RangeError {
    Invalid(String),
    /// More names than allowed.
    TooMany,
}

/// Ansible's host ranges: `web[01:03]`, `db-[a:c]`, `h[0:10:2]`; at most `limit` names,
/// counted before any is made.
pub(crate) fn expand_range(pattern: &str, limit: usize) -> Result<Vec<String>, RangeError> {
    let range = match (pattern.find('['), pattern.find(']')) {
        (Some(open), Some(close)) if open < close => Some((open, close)),
        _ => None,
    };
    let Some((open, close)) = range else {
        return if limit == 0 {
            Err(RangeError::TooMany)
        } else {
            Ok(vec![pattern.to_owned()])
        };
    };
    let (head, body, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let invalid = || {
        RangeError::Invalid(format!(
            "host range `[{body}]` must look like `[1:3]` or `[a:c]`"
        ))
    };
    let mut parts = body.split(':');
    let (Some(start), Some(end)) = (parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let step: usize = match parts.next() {
        Some(step) => step
            .parse()
            .map_err(|_| RangeError::Invalid(format!("bad step in host range `[{body}]`")))?,
        None => 1,
    };
    let step = step.max(1);
    let values: Vec<String> = if let (Ok(a), Ok(b)) = (start.parse::<u64>(), end.parse::<u64>()) {
        let count = if b < a { 0 } else { (b - a) / step as u64 + 1 };
        if count > limit as u64 {
            return Err(RangeError::TooMany);
        }
        let width = if start.starts_with('0') {
            start.len()
        } else {
            0
        };
        (a..=b)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect()
    } else if let (Some(a), Some(b)) = (single_char(start), single_char(end)) {
        (a..=b).step_by(step).map(String::from).collect()
    } else {
        return Err(invalid());
    };
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let rest = expand_range(tail, limit / values.len())?;
    if values.len().saturating_mul(rest.len()) > limit {
        return Err(RangeError::TooMany);
    }
    let mut names = Vec::with_capacity(values.len() * rest.len());
    for value in &values {
        for tail in &rest {
            names.push(format!("{head}{value}{tail}"));
        }
    }
    Ok(names)
}

fn single_char(s: &str) -> Option<char> {
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_like_ansible() {
        assert_eq!(
            expand_range("web[01:03].x", 10).unwrap(),
            ["web01.x", "web02.x", "web03.x"]
        );
        assert_eq!(
            expand_range("db-[a:c]", 10).unwrap(),
            ["db-a", "db-b", "db-c"]
        );
        assert_eq!(expand_range("plain", 10).unwrap(), ["plain"]);
        assert_eq!(
            expand_range("h[0:10:5]-[a:b]", 6).unwrap(),
            ["h0-a", "h0-b", "h5-a", "h5-b", "h10-a", "h10-b"]
        );
    }

    #[test]
    fn ranges_are_counted_before_they_are_made() {
        assert_eq!(expand_range("h[1:3]", 2), Err(RangeError::TooMany));
        assert_eq!(expand_range("plain", 0), Err(RangeError::TooMany));
        assert_eq!(
            expand_range("h[0:99999999999999][0:99999999999999]", MAX_HOST_NAMES),
            Err(RangeError::TooMany)
        );
        assert_eq!(
            expand_range("h[0:9][0:9][0:9]", 999),
            Err(RangeError::TooMany)
        );
        assert_eq!(expand_range("h[0:9][0:9][0:9]", 1000).unwrap().len(), 1000);
    }
}
