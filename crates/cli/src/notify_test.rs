//! `herald notify-test`: one sample notification per source, shown through the freedesktop
//! notifier exactly as `herald run` would show them, to check what this desktop's
//! notification server does with Herald's icons, urgencies, actions and escaped markup.
//! Also the hidden `herald open-link`, which opens a link the way a notification's Open
//! action does (for tests of what is and is not launched).

use anyhow::Context as _;
use herald_core::notify::{
    escape_markup, Freedesktop, Notification, Notifier as _, NotifyAction, Urgency,
};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct NotifyTestArgs {
    /// Folder of the source icons (source-koji.png, …). Default: HERALD_ICON_DIR, else
    /// $XDG_DATA_HOME/herald/icons, else the icons/ folder of the source tree.
    #[arg(long, value_name = "DIR")]
    icon_dir: Option<PathBuf>,

    /// Afterwards, wait this many seconds and print each action you click (nothing is
    /// opened, muted or snoozed).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    wait: u64,
}

#[derive(Debug, clap::Args)]
pub struct OpenLinkArgs {
    /// The link; anything but an absolute http(s) URL is refused and nothing is run.
    url: String,
}

pub async fn notify_test(args: &NotifyTestArgs) -> anyhow::Result<ExitCode> {
    let icon_dir = args.icon_dir.clone();
    let notifier = tokio::task::spawn_blocking(move || Freedesktop::connect(icon_dir))
        .await
        .context("the D-Bus connection task failed")??;
    let notifier = Arc::new(notifier);
    let server = notifier.server();
    println!(
        "server: {} {} ({}), spec {}",
        server.name, server.version, server.vendor, server.spec_version
    );
    println!("capabilities: {}", notifier.capabilities().join(", "));
    println!(
        "icons: {}",
        notifier.icon_dir().map_or_else(
            || "(none found: themed icon names)".to_owned(),
            |d| d.display().to_string()
        )
    );
    if !notifier.supports_body_markup() {
        println!("the server shows the body as plain text (no \"body-markup\")");
    }
    let mut actions = notifier.actions();
    let mut failed = 0;
    for n in samples() {
        let shown = {
            let (notifier, n) = (notifier.clone(), n.clone());
            tokio::task::spawn_blocking(move || notifier.show(&n))
                .await
                .context("the D-Bus call task failed")?
        };
        println!();
        match shown {
            Ok(id) => println!("sent #{id}  {:?}  {}", n.urgency, n.summary),
            Err(e) => {
                println!("FAILED  {:?}  {}: {e}", n.urgency, n.summary);
                failed += 1;
            }
        }
        println!("  icon     {}", notifier.icon_for(&n.icon));
        // The body as sent: escaped when the server reads markup.
        let body = if notifier.supports_body_markup() {
            escape_markup(&n.body)
        } else {
            n.body.clone()
        };
        println!("  body     {}", body.replace('\n', "\n           "));
        if notifier.supports_actions() {
            let list: Vec<String> = n.actions.iter().map(describe).collect();
            println!("  actions  {}", list.join(", "));
        } else {
            println!("  actions  (not sent: the server has no \"actions\" capability)");
        }
    }
    if args.wait > 0 {
        println!(
            "\nwaiting {} s for actions (click one; nothing is carried out)…",
            args.wait
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(args.wait);
        while let Ok(Some(action)) = tokio::time::timeout_at(deadline, actions.recv()).await {
            println!("invoked: {}", describe(&action));
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn open_link(args: &OpenLinkArgs) -> anyhow::Result<ExitCode> {
    herald_core::notify::open_link(&args.url)?;
    Ok(ExitCode::SUCCESS)
}

fn describe(a: &NotifyAction) -> String {
    match a {
        NotifyAction::Open { url } => format!("Open ({url})"),
        NotifyAction::Mute { package } => format!("Mute {package}"),
        NotifyAction::Snooze { rule } => format!("Snooze rule {rule} for 1 h"),
    }
}

fn note(
    icon: &str,
    urgency: Urgency,
    summary: &str,
    body: &str,
    actions: Vec<NotifyAction>,
) -> Notification {
    Notification {
        summary: summary.to_owned(),
        body: body.to_owned(),
        icon: icon.to_owned(),
        urgency,
        replaces: None,
        actions,
    }
}

fn open(url: &str) -> NotifyAction {
    NotifyAction::Open {
        url: url.to_owned(),
    }
}

fn mute(package: &str) -> NotifyAction {
    NotifyAction::Mute {
        package: package.to_owned(),
    }
}

fn snooze(rule: &str) -> NotifyAction {
    NotifyAction::Snooze {
        rule: rule.to_owned(),
    }
}

/// One notification per source, as the renderers would word them, and one whose package
/// name is markup.
fn samples() -> Vec<Notification> {
    vec![
        note(
            "koji",
            Urgency::Critical,
            "Koji build FAILED: chromium-124.0.6367.60-1.fc40",
            "Owner: spot\nbuildArch (aarch64) failed after 2 h 14 min",
            vec![
                open("https://koji.fedoraproject.org/koji/buildinfo?buildID=2456789"),
                mute("chromium"),
                snooze("koji-failures"),
            ],
        ),
        note(
            "bodhi",
            Urgency::Normal,
            "Bodhi: FEDORA-2024-3f1a2b6c4d pushed to stable",
            "python-requests-2.32.3-1.fc40 for Fedora 40",
            vec![
                open("https://bodhi.fedoraproject.org/updates/FEDORA-2024-3f1a2b6c4d"),
                mute("python-requests"),
            ],
        ),
        note(
            "anitya",
            Urgency::Low,
            "Anitya: htop 3.3.0 released upstream",
            "Fedora Rawhide has 3.2.2",
            vec![
                open("https://release-monitoring.org/project/1332/"),
                mute("htop"),
            ],
        ),
        note(
            "copr",
            Urgency::Normal,
            "Copr build succeeded: @python/python3.13 python-numpy-2.0.0-1",
            "Chroot fedora-rawhide-x86_64, build 7654321",
            vec![
                open("https://copr.fedorainfracloud.org/coprs/g/python/python3.13/build/7654321/"),
                mute("python-numpy"),
            ],
        ),
        note(
            "pulp",
            Urgency::Normal,
            "Pulp task completed: sync of fedora-40-updates",
            "pulp_rpm.app.tasks.synchronizing.synchronize, 12 min",
            vec![snooze("pulp-tasks")],
        ),
        note(
            "generic",
            Urgency::Normal,
            "Koji build COMPLETE: <b>x</b>-1.0-1.fc40",
            "Package <b>x</b> & friends: markup in a name shows as typed.",
            vec![
                open("https://koji.fedoraproject.org/koji/buildinfo?buildID=9999999"),
                mute("<b>x</b>"),
            ],
        ),
    ]
}
