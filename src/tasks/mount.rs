//! `mount` (ansible.posix.mount): a file system in an fstab file and mounted, or not, on
//! Linux: the fstab edited as ansible.posix edits it (the entry matched by its mount point,
//! fields escaped as `\040`, `\046`, `\134`), and `mount`, `mount -o remount`, `umount` run
//! as it runs them, all in one round trip. Registers what ansible.posix registers: `name`,
//! `src` and `fstype` (when given), `opts`, `dump`, `passno` (as strings), `fstab`, `boot`
//! (`yes`/`no`) and `backup_file`.
//!
//! Check mode changes nothing, not even an fstab file that is not there yet (ansible.posix
//! creates it).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use super::{Outcome, TaskContext, TaskType};
use crate::transport::{TransportError, quote};

#[derive(Debug, Deserialize)]
#[serde(try_from = "Args")]
pub struct Mount(Args);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Args {
    #[serde(alias = "name")]
    path: String,
    #[serde(default)]
    src: Option<String>,
    #[serde(default)]
    fstype: Option<String>,
    #[serde(default)]
    opts: Option<String>,
    #[serde(default)]
    dump: Option<Text>,
    #[serde(default)]
    passno: Option<Text>,
    #[serde(default)]
    fstab: Option<String>,
    #[serde(default)]
    backup: bool,
    #[serde(default = "super::args::yes")]
    boot: bool,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum State {
    Mounted,
    Unmounted,
    Present,
    Absent,
    AbsentFromFstab,
    Remounted,
    Ephemeral,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Mounted => "mounted",
            State::Unmounted => "unmounted",
            State::Present => "present",
            State::Absent => "absent",
            State::AbsentFromFstab => "absent_from_fstab",
            State::Remounted => "remounted",
            State::Ephemeral => "ephemeral",
        }
    }
}

/// A string argument that YAML may give as a number (`dump: 1`), as Ansible's `type='str'`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl Visitor<'_> for TextVisitor {
            type Value = Text;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text, E> {
                Ok(Text(text.to_owned()))
            }

            fn visit_i64<E: de::Error>(self, number: i64) -> Result<Text, E> {
                Ok(Text(number.to_string()))
            }

            fn visit_u64<E: de::Error>(self, number: u64) -> Result<Text, E> {
                Ok(Text(number.to_string()))
            }
        }

        deserializer.deserialize_any(TextVisitor)
    }
}

impl TryFrom<Args> for Mount {
    type Error = String;

    fn try_from(args: Args) -> Result<Self, String> {
        // ansible.posix's required_if, with AnsibleModule's message.
        if matches!(
            args.state,
            State::Mounted | State::Present | State::Ephemeral
        ) {
            let missing: Vec<&str> = [("src", &args.src), ("fstype", &args.fstype)]
                .into_iter()
                .filter(|(_, value)| value.is_none())
                .map(|(name, _)| name)
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "state is {} but all of the following are missing: {}",
                    args.state.name(),
                    missing.join(", ")
                ));
            }
        }
        for (name, value) in [
            ("path", Some(&args.path)),
            ("src", args.src.as_ref()),
            ("fstype", args.fstype.as_ref()),
            ("opts", args.opts.as_ref()),
            ("fstab", args.fstab.as_ref()),
        ] {
            if value.is_some_and(|v| v.contains(['\n', '\0'])) {
                return Err(format!("`{name}` must be on one line"));
            }
        }
        Ok(Mount(args))
    }
}

/// The script: the variables above it, `check`, and the `E_*` escaped fields in the
/// environment of its awk. Reports NUL-terminated records: `C` and 0 or 1 (changed), `B`
/// and the backup's path, `W` and a warning, `F` and a failure's message.
const SCRIPT: &str = r#"
set -u
fail() { printf 'F\0%s\0' "$1"; exit 0; }
esc() { printf '%s' "$1" | sed -e 's/\\/\\134/g' -e 's/ /\\040/g' -e 's/&/\\046/g'; }
E_NAME=$(esc "$path"); E_SRC=$(esc "$src"); E_FSTYPE=$(esc "$fstype"); E_OPTS=$(esc "$opts")
E_DUMP=$(esc "$dump"); E_PASSNO=$(esc "$passno"); E_RAWSRC=$src; E_HASSRC=$has_src
export E_NAME E_SRC E_FSTYPE E_OPTS E_DUMP E_PASSNO E_RAWSRC E_HASSRC
changed=0
new=$(mktemp) || fail "cannot make a temporary file"
old=$(mktemp) || fail "cannot make a temporary file"
out=$(mktemp) || fail "cannot make a temporary file"
trap 'rm -f -- "$new" "$old" "$out"' EXIT
if [ "$state" != ephemeral ] && [ ! -e "$fstab" ] && [ "$check" = 0 ]; then
    err=$(mkdir -p -- "$(dirname -- "$fstab")" 2>&1 && : >> "$fstab" 2>&1) || fail "Failed to open $fstab due to $err"
fi
if [ -e "$fstab" ]; then cp -- "$fstab" "$old" || fail "Failed to open $fstab"; fi
# The fstab with the entry set (`set`) or removed (`unset`), into $new; prints 1 if it differs.
edit() {
    awk -v mode="$1" -v out="$new" '
    BEGIN { name = ENVIRON["E_NAME"]; changed = 0; exists = 0 }
    {
        line = $0
        if (line ~ /^[ \t]*$/ || line ~ /^[ \t]*#/) { print line > out; next }
        if (mode == "unset" ? NF != 6 : (NF < 4 || NF > 6)) { print line > out; next }
        if ($2 != name || (ENVIRON["E_HASSRC"] == 1 && $2 == "none" && $3 == "swap" && $1 != ENVIRON["E_RAWSRC"])) {
            print line > out; next
        }
        if (mode == "unset") { changed = 1; next }
        exists = 1
        s = $1; f = $3; o = $4; d = $5; p = $6
        if (s != ENVIRON["E_SRC"]) { s = ENVIRON["E_SRC"]; changed = 1 }
        if (f != ENVIRON["E_FSTYPE"]) { f = ENVIRON["E_FSTYPE"]; changed = 1 }
        if (o != ENVIRON["E_OPTS"]) { o = ENVIRON["E_OPTS"]; changed = 1 }
        # A missing dump or passno is the number 0, never equal to the string "0".
        if (NF < 5 || d != ENVIRON["E_DUMP"]) { d = ENVIRON["E_DUMP"]; changed = 1 }
        if (NF < 6 || p != ENVIRON["E_PASSNO"]) { p = ENVIRON["E_PASSNO"]; changed = 1 }
        if (changed) print s " " $2 " " f " " o " " d " " p > out
        else print line > out
    }
    END {
        if (mode == "set" && !exists) {
            print ENVIRON["E_SRC"] " " name " " ENVIRON["E_FSTYPE"] " " ENVIRON["E_OPTS"] " " ENVIRON["E_DUMP"] " " ENVIRON["E_PASSNO"] > out
            changed = 1
        }
        print changed
    }' "$old"
}
# Write $new over the fstab (in place, as ansible.posix writes it), with a backup first.
write() {
    [ "$check" = 0 ] || return 0
    if [ "$backup" = 1 ]; then
        b=$fstab.$$.$(date +%Y-%m-%d@%H:%M:%S)~
        cp -p -- "$fstab" "$b" || fail "cannot back up $fstab"
        [ "$record_backup" = 1 ] && printf 'B\0%s\0' "$b"
    fi
    cat -- "$new" > "$fstab" || fail "cannot write $fstab"
}
# Something is mounted there (what `unmounted` and `absent` take down).
mounted() { mountpoint -q -- "$1" 2>/dev/null; }
# What `mounted` and `ephemeral` count as mounted, as ansible.posix does: a mount point
# (its device is not its parent's), or a bind mount of `src` there.
mounted_here() {
    [ -e "$path" ] || return 1
    a=$(stat -c %d:%i -- "$path") && b=$(stat -c %d:%i -- "$path/..") || return 1
    [ "${a%:*}" != "${b%:*}" ] || [ "$a" = "$b" ] || { mounted "$path" && same_source; }
}
do_mount() {
    if [ "$state" = ephemeral ]; then
        set -- -t "$fstype"
        [ "$opts" = defaults ] || set -- "$@" -o "$opts"
        set -- "$@" "$src"
    elif [ "$fstab" != /etc/fstab ]; then
        set -- -T "$fstab"
    fi
    run mount "$@" -- "$path"
}
# A command, its output kept whole in $msg (with its last line ending, as Ansible keeps it).
run() { "$@" > "$out" 2>&1; rc=$?; msg=$(cat -- "$out"; printf x); msg=${msg%x}; return $rc; }
do_umount() { run umount -- "$path"; }
do_remount() {
    o=remount
    [ "$state" = remounted ] && [ "$opts" != defaults ] && o=remount,$opts
    set -- -o "$o"
    if [ "$state" = ephemeral ]; then
        set -- "$@" -t "$fstype"
        [ "$opts" = defaults ] || set -- "$@" -o "$opts"
        set -- "$@" "$src"
    elif [ "$fstab" != /etc/fstab ]; then
        set -- "$@" -T "$fstab"
    fi
    run mount "$@" -- "$path" && return 0
    if [ "$state" = remounted ] && [ "$opts" != defaults ]; then
        fail 'Options were specified with remounted, but the remount command failed. Failing in order to prevent an unexpected mount result. Try replacing this command with a "state: unmounted" followed by a "state: mounted" using the full desired mount options instead.'
    fi
    do_umount && do_mount
}
same_source() {
    s=$(findmnt -rn -o SOURCE --mountpoint "$path" 2>/dev/null | tail -n 1)
    root=${s#*\[}; root=${root%]}
    [ "$s" = "$src" ] || [ "$root" = "$src" ]
}
case $state in
absent_from_fstab)
    changed=$(edit unset) || fail "cannot read $fstab"
    [ "$changed" = 1 ] && write
    ;;
absent)
    changed=$(edit unset) || fail "cannot read $fstab"
    if [ "$changed" = 1 ]; then
        write
        if [ "$check" = 0 ]; then
            if mounted "$path"; then do_umount || fail "Error unmounting $path: $msg"; fi
            if [ -e "$path" ]; then
                err=$(rmdir -- "$path" 2>&1) || fail "Error rmdir $path: ${err#rmdir: }"
            fi
        fi
    fi
    ;;
unmounted)
    if mounted "$path"; then
        changed=1
        if [ "$check" = 0 ]; then do_umount || fail "Error unmounting $path: $msg"; fi
    fi
    ;;
mounted|ephemeral)
    created=
    if [ ! -e "$path" ] && [ "$check" = 0 ]; then
        rest=$path; cur=
        case $rest in /*) rest=${rest#/}; cur=/;; esac
        while [ -n "$rest" ]; do
            part=${rest%%/*}
            case $rest in */*) rest=${rest#*/};; *) rest=;; esac
            [ -n "$part" ] || continue
            cur=${cur%/}/$part; [ "${path#/}" = "$path" ] && cur=${cur#/}
            if [ ! -e "$cur" ]; then
                err=$(mkdir -- "$cur" 2>&1) || fail "Error making dir $path: $err"
                created="$cur
$created"
            fi
        done
    fi
    if [ "$state" != ephemeral ]; then
        changed=$(edit set) || fail "cannot read $fstab"
        [ "$changed" = 1 ] && write
    fi
    res=0; msg=
    if mounted_here; then
        if [ "$changed" = 1 ] && [ "$check" = 0 ]; then do_remount || res=1; fi
        if [ "$state" = ephemeral ]; then
            same_source || fail 'Ephemeral mount point is already mounted with a different source than the specified one. Failing in order to prevent an unwanted unmount or override operation. Try replacing this command with a "state: unmounted" followed by a "state: ephemeral", or use a different destination path.'
            changed=1
            if [ "$check" = 0 ]; then do_remount || res=1; fi
        fi
    else
        changed=1
        if [ "$check" = 0 ]; then do_mount || res=1; fi
    fi
    if [ "$res" = 1 ]; then
        # As ansible.posix: an entry that does not mount is taken out again.
        [ "$state" != ephemeral ] && [ "$check" = 0 ] && cat -- "$old" > "$fstab"
        printf '%s' "$created" | while IFS= read -r dir; do [ -n "$dir" ] && rmdir -- "$dir"; done
        fail "Error mounting $path: $msg"
    fi
    ;;
present)
    changed=$(edit set) || fail "cannot read $fstab"
    [ "$changed" = 1 ] && write
    ;;
remounted)
    if [ "$check" = 0 ]; then do_remount || fail "Error remounting $path: $msg"; fi
    changed=1
    ;;
esac
printf 'C\0%s\0' "$changed"
"#;

impl TaskType for Mount {
    const COLLECTION: Option<&'static str> = Some("ansible.posix");

    async fn run(&self, ctx: &TaskContext<'_>) -> Result<Outcome, TransportError> {
        let args = &self.0;
        let fstab = args
            .fstab
            .clone()
            .unwrap_or_else(|| "/etc/fstab".to_owned());
        let mut opts = args.opts.clone().unwrap_or_else(|| "defaults".to_owned());
        let dump = args.dump.clone().map_or_else(|| "0".to_owned(), |t| t.0);
        let passno = args.passno.clone().map_or_else(|| "0".to_owned(), |t| t.0);
        let mut warnings = Vec::new();
        // As ansible.posix on Linux: `boot: false` is `noauto` among the options.
        let has_noauto = opts.split(',').any(|o| o == "noauto");
        if args.boot && has_noauto {
            warnings.push("Ignore the 'boot' due to 'opts' contains 'noauto'.".to_owned());
        } else if !args.boot {
            opts.push_str(",noauto");
        }
        let vars = [
            ("path", args.path.as_str()),
            ("src", args.src.as_deref().unwrap_or("")),
            ("has_src", if args.src.is_some() { "1" } else { "0" }),
            ("fstype", args.fstype.as_deref().unwrap_or("")),
            ("opts", &opts),
            ("dump", &dump),
            ("passno", &passno),
            ("fstab", &fstab),
            ("state", args.state.name()),
            ("backup", if args.backup { "1" } else { "0" }),
            // ansible.posix registers the backup of a set entry, not of a removed one.
            (
                "record_backup",
                if matches!(args.state, State::Mounted | State::Present) {
                    "1"
                } else {
                    "0"
                },
            ),
            ("check", if ctx.check { "1" } else { "0" }),
        ];
        let mut text = String::new();
        for (key, value) in vars {
            text.push_str(&format!("{key}={}\n", quote(value)));
        }
        text.push_str(SCRIPT);
        let output = ctx.run(ctx.script(text)).await?;
        let stdout = output.stdout_lossy();
        let mut fields = stdout.split('\0');
        let (mut changed, mut backup_file, mut failure) = (None, String::new(), None);
        while let Some(kind) = fields.next() {
            let value = fields.next().unwrap_or_default().to_owned();
            match kind {
                "C" => changed = Some(value == "1"),
                "B" => backup_file = value,
                "F" => failure = Some(value),
                _ => break,
            }
        }
        if let Some(message) = failure {
            return Ok(Outcome::failed(message));
        }
        let Some(changed) = changed else {
            return Ok(Outcome::failed(format!(
                "the `mount` script exited with {}: {}",
                output.status,
                output.stderr_lossy().trim()
            )));
        };
        let mut outcome = if changed {
            Outcome::changed()
        } else {
            Outcome::ok()
        };
        if changed
            && !matches!(
                args.state,
                State::Unmounted | State::Remounted | State::Ephemeral
            )
        {
            outcome.files.push(fstab.clone());
        }
        outcome = outcome
            .with("name", args.path.clone())
            .with("opts", opts)
            .with("dump", dump)
            .with("passno", passno)
            .with("fstab", fstab)
            .with("boot", if args.boot { "yes" } else { "no" })
            .with("backup_file", backup_file);
        if let Some(src) = &args.src {
            outcome = outcome.with("src", src.clone());
        }
        if let Some(fstype) = &args.fstype {
            outcome = outcome.with("fstype", fstype.clone());
        }
        if !warnings.is_empty() {
            outcome = outcome.with("warnings", warnings);
        }
        Ok(outcome)
    }
}
