//! `find` (Ansible's `ansible.builtin.find`): the files under `paths` on the host that match
//! by name (shell patterns, or regular expressions matched at the start with `use_regex`),
//! type, age, size, contents and mode, up to `limit` matches in Python's `os.walk` order,
//! with Ansible's `files` (each with `stat`'s keys), `matched`,
//! `examined` and `skipped_paths`. One round trip: the host lists every entry with its
//! attributes (`find -printf`), the controller chooses by Ansible's rules.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value as Json};

use super::args::OneOrMany;
use super::{Outcome, TaskContext, TaskType};
use crate::python_codec::CodecError;
use crate::python_regex::PythonRegex;
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Find(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(alias = "name", alias = "path")]
    paths: OneOrMany,
    #[serde(default, alias = "pattern")]
    patterns: Option<OneOrMany>,
    #[serde(default, alias = "exclude")]
    excludes: Option<OneOrMany>,
    #[serde(default)]
    file_type: FileType,
    #[serde(default)]
    recurse: bool,
    #[serde(default)]
    hidden: bool,
    #[serde(default)]
    follow: bool,
    #[serde(default)]
    get_checksum: bool,
    /// The digest `get_checksum` registers (SHA-1 when not written), as `stat`'s.
    #[serde(default, alias = "checksum", alias = "checksum_algo")]
    checksum_algorithm: Option<super::stat::Algorithm>,
    #[serde(default)]
    use_regex: bool,
    /// `2d`, `-1w`: at least (or, negative, at most) this old.
    #[serde(default)]
    age: Option<String>,
    #[serde(default)]
    age_stamp: Stamp,
    /// `10k`, `-1m`: at least (or, negative, at most) this big.
    #[serde(default)]
    size: Option<String>,
    #[serde(default)]
    depth: Option<u32>,
    /// A regular expression a file's line must match at its start (or, with
    /// `read_whole_file`, the whole file anywhere); only with `file_type: file`, as Ansible.
    #[serde(default)]
    contains: Option<String>,
    #[serde(default)]
    read_whole_file: bool,
    /// The encoding of the files `contains` reads, by Python's name for it (`utf-8`,
    /// `latin-1`, `gbk`...); without it UTF-8, as Python's `open` on these hosts.
    #[serde(default)]
    encoding: Option<String>,
    /// Octal (`'0644'`) or symbolic (`u=rw,g=r`): the permission bits a match has (all of
    /// them, and no others, with `exact_mode`; or any of them without it).
    #[serde(default)]
    mode: Option<FindMode>,
    #[serde(default = "super::args::yes")]
    exact_mode: bool,
    /// At most this many matches, the first ones in Python's `os.walk` order.
    #[serde(default)]
    limit: Option<i64>,
}

/// `find`'s `mode`: a string, as ansible-core's `find` takes it (a number is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindMode(String);

impl<'de> Deserialize<'de> for FindMode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Json::deserialize(deserializer)? {
            Json::String(text) => {
                if !crate::yaml::is_template(&text) {
                    find_mode_bits(&text).map_err(D::Error::custom)?;
                }
                Ok(FindMode(text))
            }
            other => Err(D::Error::custom(format!(
                "argument 'mode' is not a string and conversion is not allowed, value is of type {}",
                python_type(&other)
            ))),
        }
    }
}

/// The name Python gives a YAML value's type, for ansible-core's messages.
fn python_type(value: &Json) -> &'static str {
    match value {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// The bits a `mode` stands for, as ansible-core's `mode_filter` reads it: octal digits, or
/// a symbolic mode applied to no permissions (`u=rw,g=r,o=r` is `0644`).
fn find_mode_bits(text: &str) -> Result<u32, String> {
    if let Ok(bits) = u32::from_str_radix(text, 8) {
        return Ok(bits & 0o7777);
    }
    match super::args::FileMode::symbolic_spec(text) {
        Ok(super::args::ModeSpec::Symbolic(clauses)) => {
            let mut bits = 0u32;
            for clause in clauses {
                // `X` adds execute where some one may already execute (never a directory:
                // the mode is applied to no file).
                let add = clause.bits
                    | if bits & 0o111 != 0 {
                        clause.conditional_x
                    } else {
                        0
                    };
                bits = match clause.op {
                    '+' => bits | add,
                    '-' => bits & !add,
                    _ => (bits & !clause.who) | add,
                };
            }
            Ok(bits)
        }
        Ok(super::args::ModeSpec::Octal(bits)) => Ok(bits),
        Err(_) => Err(format!("bad symbolic permission for mode: {text}")),
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    #[default]
    File,
    Directory,
    Link,
    Any,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stamp {
    Atime,
    Ctime,
    #[default]
    Mtime,
}

/// Ansible splits a pattern written with commas (`'*.conf,*.yaml'`) into several.
fn split(list: &Option<OneOrMany>) -> Vec<String> {
    list.iter()
        .flat_map(|many| many.0.iter())
        .flat_map(|item| item.split(',').map(str::to_owned).collect::<Vec<_>>())
        .filter(|item| !item.is_empty())
        .collect()
}

/// `2d` as seconds, `10k` as bytes: a number and a unit from `units`.
fn amount(text: &str, units: &[(char, f64)], what: &str) -> Result<f64, String> {
    let text = text.trim();
    let (number, factor) = match text.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let factor = units
                .iter()
                .find(|(u, _)| *u == c.to_ascii_lowercase())
                .map(|(_, f)| *f)
                .ok_or_else(|| format!("failed to process {what}: `{text}`"))?;
            (&text[..text.len() - 1], factor)
        }
        _ => (text, 1.0),
    };
    number
        .parse::<f64>()
        .map(|n| n * factor)
        .map_err(|_| format!("failed to process {what}: `{text}`"))
}

const AGE_UNITS: &[(char, f64)] = &[
    ('s', 1.0),
    ('m', 60.0),
    ('h', 3600.0),
    ('d', 86400.0),
    ('w', 604800.0),
];
const SIZE_UNITS: &[(char, f64)] = &[
    ('b', 1.0),
    ('k', 1024.0),
    ('m', 1048576.0),
    ('g', 1073741824.0),
    ('t', 1099511627776.0),
];

impl TryFrom<Args> for Find {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        if args.paths.0.is_empty() {
            return Err("`paths` lists no path".to_owned());
        }
        fn literal(text: &Option<String>) -> Option<&str> {
            text.as_deref().filter(|t| !crate::yaml::is_template(t))
        }
        if let Some(age) = literal(&args.age) {
            amount(age, AGE_UNITS, "age")?;
        }
        if let Some(size) = literal(&args.size) {
            amount(size, SIZE_UNITS, "size")?;
        }
        if args.use_regex {
            for pattern in split(&args.patterns).iter().chain(&split(&args.excludes)) {
                if !crate::yaml::is_template(pattern) {
                    super::file_edit::regex(pattern, false)?;
                }
            }
        }
        if let Some(pattern) = literal(&args.contains) {
            super::file_edit::regex(pattern, false)?;
        }
        check_limit(args.limit)?;
        Ok(Find(args))
    }
}

/// ansible-core's `find` takes no limit of zero or less.
fn check_limit(limit: Option<i64>) -> Result<(), String> {
    match limit {
        Some(limit) if limit <= 0 => {
            Err(format!("limit cannot be {limit} (use None for unlimited)"))
        }
        _ => Ok(()),
    }
}

/// Whether a file's bytes hold `pattern` as Ansible's `contentfilter` sees it: the text
/// read in `encoding` with universal newlines, then `re.match` on each line (with its
/// newline) or `re.search` on the whole text. `Ok(Err(why))` when the file cannot be read
/// so: Ansible's reason for skipping the path.
fn contains(
    bytes: &[u8],
    pattern: &PythonRegex,
    whole: bool,
    encoding: Option<&str>,
    path: &str,
) -> Result<Result<bool, String>, String> {
    let text = match crate::python_codec::decode(bytes, encoding) {
        Ok(text) => text,
        Err(CodecError::Unknown) => {
            return Ok(Err(format!(
                "unknown encoding: {}",
                encoding.unwrap_or_default()
            )));
        }
        Err(_) => {
            let current = encoding
                .unwrap_or(r#"None (default determined by the Python built-in function "open")"#);
            return Ok(Err(format!(
                "Failed to read the file {path} due to an encoding error. current encoding: {current}"
            )));
        }
    };
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    if whole {
        return pattern.is_search(&text).map(Ok);
    }
    for line in text.split_inclusive('\n') {
        if pattern.at_start(line)?.is_some() {
            return Ok(Ok(true));
        }
    }
    Ok(Ok(false))
}

/// One entry the host listed.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    kind: char,
    /// Whether Python's `os.walk` takes it for a directory (a link to one too).
    is_dir: bool,
    depth: u32,
    path: String,
    stat: Map<String, Json>,
    mtime: f64,
    atime: f64,
    ctime: f64,
    size: u64,
}

fn entry(record: &str) -> Option<Entry> {
    let fields: Vec<&str> = record.splitn(16, '\t').collect();
    let [
        kind,
        target,
        mode,
        uid,
        gid,
        user,
        group,
        size,
        inode,
        dev,
        nlink,
        atime,
        mtime,
        ctime,
        depth,
        path,
    ] = fields.as_slice()
    else {
        return None;
    };
    let kind = kind.chars().next()?;
    let bits = u32::from_str_radix(mode, 8).ok()?;
    let int = |text: &str| text.parse::<u64>().unwrap_or_default();
    let float = |text: &str| text.parse::<f64>().unwrap_or_default();
    let number = |value: f64| serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number);
    let flag = |bit: u32| Json::Bool(bits & bit != 0);
    let mut stat = Map::new();
    let entries: Vec<(&str, Json)> = vec![
        ("path", (*path).into()),
        ("mode", format!("{bits:04o}").into()),
        ("isdir", (kind == 'd').into()),
        ("ischr", (kind == 'c').into()),
        ("isblk", (kind == 'b').into()),
        ("isreg", (kind == 'f').into()),
        ("isfifo", (kind == 'p').into()),
        ("islnk", (kind == 'l').into()),
        ("issock", (kind == 's').into()),
        ("uid", int(uid).into()),
        ("gid", int(gid).into()),
        ("size", int(size).into()),
        ("inode", int(inode).into()),
        ("dev", int(dev).into()),
        ("nlink", int(nlink).into()),
        ("atime", number(float(atime))),
        ("mtime", number(float(mtime))),
        ("ctime", number(float(ctime))),
        ("gr_name", (*group).into()),
        ("pw_name", (*user).into()),
        ("wusr", flag(0o200)),
        ("rusr", flag(0o400)),
        ("xusr", flag(0o100)),
        ("wgrp", flag(0o020)),
        ("rgrp", flag(0o040)),
        ("xgrp", flag(0o010)),
        ("woth", flag(0o002)),
        ("roth", flag(0o004)),
        ("xoth", flag(0o001)),
        ("isuid", flag(0o4000)),
        ("isgid", flag(0o2000)),
    ];
    for (key, value) in entries {
        stat.insert(key.into(), value);
    }
    Some(Entry {
        kind,
        is_dir: kind == 'd' || target.starts_with('d'),
        depth: depth.parse().ok()?,
        path: (*path).to_owned(),
        stat,
        mtime: float(mtime),
        atime: float(atime),
        ctime: float(ctime),
        size: int(size),
    })
}

/// Ansible's `pfilter`: no patterns and no excludes take everything; excludes without
/// patterns take nothing.
fn name_matches(name: &str, patterns: &[String], excludes: &[String], regex: bool) -> bool {
    if patterns.is_empty() && excludes.is_empty() {
        return true;
    }
    let hit = |pattern: &String| {
        if regex {
            super::file_edit::regex(pattern, false)
                .and_then(|re| re.at_start(name))
                .is_ok_and(|found| found.is_some())
        } else {
            glob::Pattern::new(pattern).is_ok_and(|p| {
                p.matches_with(
                    name,
                    glob::MatchOptions {
                        case_sensitive: true,
                        require_literal_separator: false,
                        require_literal_leading_dot: false,
                    },
                )
            })
        }
    };
    patterns.iter().any(hit) && !excludes.iter().any(hit)
}

impl Find {
    /// Every record ends in a NUL: `N\tNOW`, `S\tINDEX` (a path that is not a directory),
    /// `E\t` and an entry's fields, `H\tSHA1\tPATH`.
    fn script(&self) -> String {
        let args = &self.0;
        let max = if args.recurse {
            // A depth of 0 is no limit, as in ansible-core.
            args.depth
                .filter(|d| *d > 0)
                .map(|d| format!("-maxdepth {}", d + 1))
        } else {
            Some("-maxdepth 1".to_owned())
        };
        let max = max.unwrap_or_default();
        let follow = if args.follow { "-L " } else { "" };
        // Without GNU find the task fails (later, `find` exits 1 for a directory it
        // could not read, which is no failure).
        let mut text = String::from(
            "find / -maxdepth 0 -printf '' >/dev/null || { echo 'GNU find is needed on the host' >&2; exit 127; }\nprintf 'N\\t%s\\0' \"$(date +%s)\"\n",
        );
        for (index, path) in args.paths.0.iter().enumerate() {
            text.push_str(&format!(
                "printf 'P\\t{index}\\0'\np={}\nif [ -d \"$p\" ]; then\n  find {follow}\"$p\" -mindepth 1 {max} -printf 'E\\t%y\\t%Y\\t%m\\t%U\\t%G\\t%u\\t%g\\t%s\\t%i\\t%D\\t%n\\t%A@\\t%T@\\t%C@\\t%d\\t%p\\0' 2>/dev/null\n",
                quote(path),
            ));
            if args.get_checksum {
                text.push_str(&format!(
                    "  find {follow}\"$p\" -mindepth 1 {max} -type f -exec sh -c 'for f; do s=$({digest} < \"$f\") && printf \"H\\t%s\\t%s\\0\" \"${{s%% *}}\" \"$f\"; done' sh {{}} + 2>/dev/null\n",
                    digest = args
                        .checksum_algorithm
                        .map_or("sha1sum", super::stat::Algorithm::command),
                ));
            }
            if args.contains.is_some() && args.file_type == FileType::File {
                text.push_str(&format!(
                    "  find {follow}\"$p\" -mindepth 1 {max} -type f -exec sh -c 'for f; do b=$(base64 -w0 < \"$f\") && printf \"B\\t%s\\t%s\\0\" \"$b\" \"$f\"; done' sh {{}} + 2>/dev/null\n"
                ));
            }
            // The directories Python's `os.walk` could not list (its `onerror`).
            if args.recurse {
                text.push_str(&format!(
                    "  find {follow}\"$p\" {max} -type d ! -readable -printf 'D\\t%p\\0' 2>/dev/null\n"
                ));
            } else {
                text.push_str("  [ -r \"$p\" ] || printf 'D\\t%s\\0' \"$p\"\n");
            }
            text.push_str(&format!("else printf 'S\\t{index}\\0'; fi\n"));
        }
        // `find` exits 1 when it could not read a directory: no failure for Ansible's.
        text.push_str("exit 0\n");
        text
    }

    fn choose(&self, stdout: &str) -> Result<Outcome, String> {
        let args = &self.0;
        let patterns = split(&args.patterns);
        let excludes = split(&args.excludes);
        let age = args
            .age
            .as_deref()
            .map(|a| amount(a, AGE_UNITS, "age"))
            .transpose()?;
        let size = args
            .size
            .as_deref()
            .map(|s| amount(s, SIZE_UNITS, "size"))
            .transpose()?;
        check_limit(args.limit)?;
        let mode = args
            .mode
            .as_ref()
            .map(|mode| find_mode_bits(&mode.0))
            .transpose()?;
        let mut now = 0.0;
        let mut roots: Vec<Option<Vec<Entry>>> = vec![Some(Vec::new()); args.paths.0.len()];
        let mut current = None;
        let mut skipped = Map::new();
        let mut unreadable: std::collections::BTreeSet<String> = Default::default();
        let mut checksums: BTreeMap<String, String> = BTreeMap::new();
        let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let pattern = args
            .contains
            .as_deref()
            .filter(|_| args.file_type == FileType::File)
            .map(|p| super::file_edit::regex(p, false))
            .transpose()?;
        for record in stdout.split('\0') {
            let Some((tag, rest)) = record.split_once('\t') else {
                continue;
            };
            match tag {
                "N" => now = rest.trim().parse::<f64>().unwrap_or_default(),
                "P" => current = rest.parse::<usize>().ok().filter(|i| *i < roots.len()),
                "S" => {
                    if let Some(index) = rest.parse::<usize>().ok().filter(|i| *i < roots.len()) {
                        roots[index] = None;
                    }
                }
                "D" => {
                    unreadable.insert(rest.to_owned());
                }
                "H" => {
                    if let Some((sum, path)) = rest.split_once('\t') {
                        checksums.insert(path.to_owned(), sum.to_owned());
                    }
                }
                "B" => {
                    if let Some((data, path)) = rest.split_once('\t') {
                        use base64::Engine;
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(data)
                            .unwrap_or_default();
                        contents.insert(path.to_owned(), bytes);
                    }
                }
                "E" => {
                    if let (Some(index), Some(entry)) = (current, entry(rest)) {
                        if let Some(list) = &mut roots[index] {
                            list.push(entry);
                        }
                    }
                }
                _ => {}
            }
        }
        let depth = args.depth.filter(|d| *d > 0);
        let limit = args.limit.and_then(|l| usize::try_from(l).ok());
        let mut examined = 0;
        let mut files = Vec::new();
        let mut msg = "All paths examined";
        // The paths Ansible warns of (`has_warnings`); not those `os.walk` could not list.
        let mut warned = Vec::new();
        // ansible-core's loop over `paths` and `os.walk`, break for break.
        'paths: for (index, root) in roots.iter().enumerate() {
            let path = &args.paths.0[index];
            let Some(entries) = root else {
                skipped.insert(path.clone(), format!("'{path}' is not a directory").into());
                warned.push(path.clone());
                continue;
            };
            for listing in walk(path, entries, args.follow, depth, &unreadable) {
                let listing = match listing {
                    Listing::Entries(listing) => listing,
                    Listing::Unreadable(dir) => {
                        let why = format!("[Errno 13] Permission denied: '{dir}'");
                        skipped.insert(dir.to_owned(), why.into());
                        continue;
                    }
                };
                examined += listing.len();
                for entry in listing {
                    if depth.is_some_and(|d| entry.depth > d) {
                        continue;
                    }
                    let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
                    if name.starts_with('.') && !args.hidden {
                        continue;
                    }
                    let chosen = self.chosen(
                        entry,
                        name,
                        (&patterns, &excludes),
                        (now, age, size, mode),
                        pattern.as_ref().map(|p| (p, &contents)),
                    )?;
                    match chosen {
                        Ok(false) => {}
                        Ok(true) => {
                            let mut stat = entry.stat.clone();
                            if entry.kind == 'f' {
                                if let Some(sum) = checksums.get(&entry.path) {
                                    stat.insert("checksum".into(), sum.clone().into());
                                }
                            }
                            files.push(Json::Object(stat));
                        }
                        Err(why) => {
                            // Ansible gives up on the path it was looking through.
                            skipped.insert(path.clone(), why.into());
                            warned.push(path.clone());
                            continue 'paths;
                        }
                    }
                    if Some(files.len()) == limit {
                        msg = "Limit of matches reached";
                        break;
                    }
                }
                if !args.recurse || Some(files.len()) == limit {
                    break;
                }
            }
        }
        if !warned.is_empty() {
            msg = "Not all paths examined, check warnings for details";
        }
        let mut outcome = Outcome::ok();
        if !warned.is_empty() {
            let warnings: Vec<String> = skipped
                .iter()
                .filter(|(path, _)| warned.contains(path))
                .map(|(path, why)| {
                    let why = why.as_str().unwrap_or_default();
                    format!("Skipped '{path}' path due to this access issue: {why}\n")
                })
                .collect();
            outcome = outcome.with("warnings", warnings);
        }
        Ok(outcome
            .with("files", Json::Array(files.clone()))
            .with("matched", files.len())
            .with("examined", examined)
            .with("skipped_paths", Json::Object(skipped))
            .with("msg", msg))
    }

    /// Whether an entry passes ansible-core's filters for its `file_type` (pattern, age,
    /// size, contents, mode); `Ok(Err(why))` when its contents cannot be read.
    fn chosen(
        &self,
        entry: &Entry,
        name: &str,
        (patterns, excludes): (&[String], &[String]),
        (now, age, size, mode): (f64, Option<f64>, Option<f64>, Option<u32>),
        contains_pattern: Option<(&PythonRegex, &BTreeMap<String, Vec<u8>>)>,
    ) -> Result<Result<bool, String>, String> {
        let args = &self.0;
        let kind_ok = match args.file_type {
            FileType::Any => true,
            FileType::File => entry.kind == 'f',
            FileType::Directory => entry.kind == 'd',
            FileType::Link => entry.kind == 'l',
        };
        if !kind_ok || !name_matches(name, patterns, excludes, args.use_regex) {
            return Ok(Ok(false));
        }
        if let Some(age) = age {
            let stamp = match args.age_stamp {
                Stamp::Mtime => entry.mtime,
                Stamp::Atime => entry.atime,
                Stamp::Ctime => entry.ctime,
            };
            let old = now - stamp;
            if (age >= 0.0 && old < age) || (age < 0.0 && old > age.abs()) {
                return Ok(Ok(false));
            }
        }
        // As Ansible: size chooses among regular files (`file`, `any`), not directories or links.
        if let (Some(size), true) = (size, entry.kind == 'f') {
            let bytes = entry.size as f64;
            if (size >= 0.0 && bytes < size) || (size < 0.0 && bytes > size.abs()) {
                return Ok(Ok(false));
            }
        }
        if let Some((pattern, contents)) = contains_pattern {
            let bytes = contents.get(&entry.path).map_or(&[][..], Vec::as_slice);
            let read = contains(
                bytes,
                pattern,
                args.read_whole_file,
                args.encoding.as_deref(),
                &entry.path,
            )?;
            match read {
                Ok(true) => {}
                Ok(false) => return Ok(Ok(false)),
                Err(why) => return Ok(Err(why)),
            }
        }
        if let Some(mode) = mode {
            let bits = entry
                .stat
                .get("mode")
                .and_then(Json::as_str)
                .and_then(|m| u32::from_str_radix(m, 8).ok())
                .unwrap_or_default();
            let hit = if args.exact_mode {
                bits == mode
            } else {
                bits & mode != 0
            };
            if !hit {
                return Ok(Ok(false));
            }
        }
        Ok(Ok(true))
    }
}

/// The listings Python's `os.walk(top, topdown=True)` yields for the entries `find` printed
/// under one path (in its order: each directory's entries in the order the directory
/// holds them, each followed by its contents): per directory, its files then its
/// directories, then the listings of those directories in turn (links to directories
/// only with `follow`).
/// One step of Python's `os.walk`: a directory's entries, or a directory it could not list
/// (its `onerror`).
enum Listing<'e> {
    Entries(Vec<&'e Entry>),
    Unreadable(&'e str),
}

fn walk<'e>(
    top: &'e str,
    entries: &'e [Entry],
    follow: bool,
    depth: Option<u32>,
    unreadable: &std::collections::BTreeSet<String>,
) -> Vec<Listing<'e>> {
    let mut top_entries = Vec::new();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); entries.len()];
    // The last entry seen at each depth: the parent of the next one a level deeper.
    let mut last: Vec<usize> = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let depth = entry.depth.max(1) as usize;
        last.truncate(depth - 1);
        if depth == 1 {
            top_entries.push(index);
        } else if last.len() == depth - 1 {
            children[last[depth - 2]].push(index);
        } else {
            continue;
        }
        last.push(index);
    }
    struct Walk<'w, 'e> {
        entries: &'e [Entry],
        children: &'w [Vec<usize>],
        follow: bool,
        depth: Option<u32>,
        unreadable: &'w std::collections::BTreeSet<String>,
        out: Vec<Listing<'e>>,
    }
    impl<'e> Walk<'_, 'e> {
        fn visit(&mut self, dir: &'e str, list: &[usize]) {
            if self.unreadable.contains(dir) {
                self.out.push(Listing::Unreadable(dir));
                return;
            }
            let entries = self.entries;
            let (dirs, files): (Vec<usize>, Vec<usize>) =
                list.iter().partition(|&&index| entries[index].is_dir);
            self.out.push(Listing::Entries(
                files
                    .iter()
                    .chain(&dirs)
                    .map(|&index| &entries[index])
                    .collect(),
            ));
            for index in dirs {
                let entry = &entries[index];
                // Ansible prunes the walk below `depth`, and follows links with `follow`.
                let deeper = self.depth.is_some_and(|d| entry.depth > d);
                if (self.follow || entry.kind != 'l') && !deeper {
                    let children = &self.children[index];
                    self.visit(&entry.path, children);
                }
            }
        }
    }
    let mut walk = Walk {
        entries,
        children: &children,
        follow,
        depth,
        unreadable,
        out: Vec::new(),
    };
    walk.visit(top, &top_entries);
    walk.out
}

impl TaskType for Find {
    const ASYNC: crate::tasks::Async = crate::tasks::Async::Runs;

    const HOST_PATHS: &'static [&'static str] = &["paths", "name", "path"];

    /// One script, which exits non-zero exactly when the task fails: what is wrong with
    /// the arguments (`age`, `size`, `contains`) fails before it is sent.
    fn pipelines(_args: &crate::yaml::Node) -> bool {
        true
    }

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        // Choosing among no entries checks the arguments.
        if let Err(reason) = self.choose("") {
            return Ok(Outcome::failed(reason));
        }
        let output = ctx.run(ctx.script(self.script())).await?;
        let stdout = output.stdout_lossy();
        if !output.success() {
            let stderr = output.stderr_lossy();
            return Ok(Outcome::failed(
                stderr.lines().next().unwrap_or("find failed").to_owned(),
            ));
        }
        match self.choose(&stdout) {
            Ok(outcome) => Ok(outcome),
            Err(reason) => Ok(Outcome::failed(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_as_ansibles_pfilter() {
        let p = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(name_matches("a.conf", &[], &[], false));
        assert!(name_matches("a.conf", &p(&["*.conf"]), &[], false));
        assert!(!name_matches("a.conf", &p(&["*.yaml"]), &[], false));
        assert!(!name_matches(
            "a.conf",
            &p(&["*.conf"]),
            &p(&["a.*"]),
            false
        ));
        assert!(!name_matches("a.conf", &[], &p(&["b.*"]), false));
        assert!(name_matches("a.conf", &p(&["a"]), &[], true));
        assert!(!name_matches("xa.conf", &p(&["a"]), &[], true));
    }

    #[test]
    fn ages_and_sizes_read_as_ansible_writes_them() {
        assert_eq!(amount("2d", AGE_UNITS, "age"), Ok(172800.0));
        assert_eq!(amount("-1w", AGE_UNITS, "age"), Ok(-604800.0));
        assert_eq!(amount("10k", SIZE_UNITS, "size"), Ok(10240.0));
        assert_eq!(amount("12", SIZE_UNITS, "size"), Ok(12.0));
        assert!(amount("3x", SIZE_UNITS, "size").is_err());
    }
}
