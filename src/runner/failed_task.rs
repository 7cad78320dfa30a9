//! `ansible_failed_task`: what a `rescue` is told of the task that failed, as ansible-core
//! 2.19.14 gives it (its serialized task: the keywords as written, `action` the task type).

use serde_json::{Map, Value as Json, json};

use crate::playbook::Task;

/// The task's keywords as written, under ansible-core's names, their templates kept as text
/// so that the variable reads even where they would not render (ansible-core renders
/// `ansible_failed_task.args.msg` when it is read, and fails there if it cannot); the
/// ones quayside has no notion of (`async`, `poll`, `debugger`, `uuid`, ...) and
/// `_resolved_action` are left out.
pub(super) fn failed_task(task: &Task) -> Json {
    let mut map = Map::new();
    map.insert("name".into(), task.name.clone().unwrap_or_default().into());
    map.insert("action".into(), task.action_name().into());
    map.insert(
        "args".into(),
        match &task.body {
            crate::playbook::TaskBody::Action { args, .. } => args.to_json(),
            _ => Json::Object(Map::new()),
        },
    );
    let nodes =
        |nodes: &[crate::yaml::Node]| -> Json { nodes.iter().map(|node| node.to_json()).collect() };
    map.insert("when".into(), nodes(&task.when));
    map.insert(
        "changed_when".into(),
        nodes(task.changed_when.as_deref().unwrap_or_default()),
    );
    map.insert(
        "failed_when".into(),
        nodes(task.failed_when.as_deref().unwrap_or_default()),
    );
    map.insert(
        "until".into(),
        nodes(task.until.as_deref().unwrap_or_default()),
    );
    map.insert(
        "loop".into(),
        task.r#loop.as_ref().map(|l| l.to_json()).into(),
    );
    map.insert(
        "loop_control".into(),
        json!({
            "loop_var": task.loop_var,
            "index_var": task.index_var,
            "label": task.label.as_ref().map(|l| l.to_json()),
            "extended": task.loop_extended.then_some(true),
        }),
    );
    map.insert("register".into(), task.register.clone().into());
    map.insert(
        "notify".into(),
        if task.notify.is_empty() {
            Json::Null
        } else {
            task.notify.clone().into()
        },
    );
    map.insert("tags".into(), task.tags.clone().into());
    map.insert("run_once".into(), task.run_once.then_some(true).into());
    map.insert(
        "delegate_to".into(),
        task.delegate_to.as_ref().map(|(to, _)| to.clone()).into(),
    );
    map.insert("delegate_facts".into(), task.delegate_facts.into());
    map.insert("no_log".into(), task.no_log.into());
    map.insert(
        "ignore_errors".into(),
        task.ignore_errors.then_some(true).into(),
    );
    map.insert("become".into(), task.r#become.unwrap_or(false).into());
    map.insert("become_user".into(), task.become_user.clone().into());
    map.insert("check_mode".into(), task.check_mode.unwrap_or(false).into());
    map.insert("timeout".into(), task.timeout.unwrap_or(0).into());
    map.insert("vars".into(), Json::Object(task.vars.clone()));
    let name = map.remove("name");
    let mut value = literal(Json::Object(map));
    if let (Json::Object(map), Some(name)) = (&mut value, name) {
        map.insert("name".into(), name);
    }
    value
}

/// `value` with every string that holds template syntax wrapped in `{% raw %}`, so that
/// reading the variable gives the text as written rather than rendering it again.
fn literal(value: Json) -> Json {
    match value {
        Json::String(text)
            if ["{{", "{%", "{#"].iter().any(|open| text.contains(open))
                && !text.contains("endraw") =>
        {
            Json::String(format!("{{% raw %}}{text}{{% endraw %}}"))
        }
        Json::Array(items) => Json::Array(items.into_iter().map(literal).collect()),
        Json::Object(map) => Json::Object(map.into_iter().map(|(k, v)| (k, literal(v))).collect()),
        other => other,
    }
}
