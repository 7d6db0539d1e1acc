//! The Packages view's side of the IPC contract: the TypeScript declarations the model's
//! summary and timeline types generate, as the page reads them.

use super::{
    BranchView, BuildView, PackageSummary, Stage, TimelineEvent, UpdateView, UpstreamView,
};
use crate::history::tests::ts_shape as shape;
use ts_rs::TS;

#[test]
fn typescript_declarations_match_the_packages_view() {
    let cfg = ts_rs::Config::default();
    assert_eq!(
        shape(PackageSummary::decl(&cfg)),
        "type PackageSummary = { package: string, upstream: UpstreamView | null, \
         branches: Array<BranchView>, ftbfs: boolean | null, behind_upstream: boolean | null, \
         behind_since: string | null, fedora_version: string | null, changed_at: string, };"
    );
    assert_eq!(
        shape(UpstreamView::decl(&cfg)),
        "type UpstreamView = { version: string, sent_at: string, };"
    );
    assert_eq!(
        shape(BranchView::decl(&cfg)),
        "type BranchView = { branch: string, build: BuildView | null, \
         update: UpdateView | null, stable: string | null, ci: string | null, };"
    );
    assert_eq!(
        shape(BuildView::decl(&cfg)),
        "type BuildView = { nvr: string, state: string, sent_at: string, url: string | null, };"
    );
    assert_eq!(
        shape(UpdateView::decl(&cfg)),
        "type UpdateView = { alias: string, status: string | null, gating: string | null, \
         gating_settled: boolean, karma: number | null, url: string | null, \
         user: string | null, };"
    );
    assert_eq!(
        shape(TimelineEvent::decl(&cfg)),
        "type TimelineEvent = { id: string, sent_at: string, stage: Stage, \
         branch: string | null, version: string | null, nvr: string | null, \
         state: string | null, summary: string, source: string, url: string | null, \
         link_host: string | null, link_trusted: boolean, };"
    );
    assert_eq!(
        shape(Stage::decl(&cfg)),
        "type Stage = \"upstream\" | \"hotness\" | \"bug\" | \"commit\" | \"build\" | \
         \"tag\" | \"update\" | \"ci\" | \"gating\" | \"feedback\" | \"ftbfs\" | \"copr\";"
    );
}
