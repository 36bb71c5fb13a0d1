"""Task templates over GitLab (after upstream templates 290, 291, 322, 323, 329, 328, 351, 348)."""

from __future__ import annotations

import collections
import random

from ..sites import World
from ..sites.gitlab import ME, ROLES, USERS
from .spec import TaskSpec, click, html_eval, stop, string_eval, target, type_, url_eval

G = "__GITLAB__"
ISSUE_IDEAS = ["report a crash when the config file is empty", "add a dark theme", "document the release process",
               "support Windows paths", "fix the broken footer link", "add keyboard shortcuts",
               "translate the README to Spanish", "reduce the docker image size"]
MR_REPLIES = ["lgtm", "Thank you", "Please add tests", "Approved", "Nice work"]


def generate(world: World, rng: random.Random, per_template: int) -> list[TaskSpec]:
    """Instantiates every GitLab template ``per_template`` times (fewer when entities run out)."""
    site = world.site("gitlab")
    projects = site.state["projects"]
    out: list[TaskSpec] = []

    def pick(items: list, n: int = per_template) -> list:
        return rng.sample(items, min(n, len(items)))

    def open_project(p: dict) -> list:
        return [click(f"{USERS[p['namespace']]} / {p['name']}")]

    out.append(TaskSpec("gitlab", "mrs_assigned", 290, "Checkout merge requests assigned to me", {}, G,
                        url_eval(f"{G}/dashboard/merge_requests?assignee_username={ME}"),
                        [click("Merge requests"), stop()]))
    out.append(TaskSpec("gitlab", "mrs_to_review", 291, "Checkout merge requests requiring my review", {}, G,
                        url_eval(f"{G}/dashboard/merge_requests?reviewer_username={ME}"),
                        [click("Merge requests"), click("Review requests for you"), stop()]))
    counts = []
    for p in projects:
        by = collections.Counter((c["author"], c["date"]) for c in p["commits"])
        counts += [(p, u, d, n) for (u, d), n in sorted(by.items())]
    for p, user, date, n in pick(counts):
        out.append(TaskSpec("gitlab", "commits_on_date", 322, "How many commits did {{user}} make to {{repo}} on "
                            "{{date}}?", {"user": user, "repo": p["name"], "date": date}, G,
                            string_eval(must_include=[str(n)]),
                            [*open_project(p), click("Commits"), stop(str(n))]))
    top = []
    for p in projects:
        ranked = collections.Counter(c["author"] for c in p["commits"]).most_common()
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            top.append((p, ranked[0][0]))
    for p, user in pick(top):
        out.append(TaskSpec("gitlab", "top_contributor", 323, "Tell me who has made the most contributions, in terms "
                            "of number of commits, to the {{repo}} project", {"repo": p["name"]}, G,
                            string_eval(exact_match=user), [*open_project(p), click("Commits"), stop(user)]))
    for p in pick(projects):
        cmd = f"git clone git@gitlab.local:{p['namespace']}/{p['name']}.git"
        out.append(TaskSpec("gitlab", "clone_ssh", 329, "Show me the command to clone {{repo}} with SSH.",
                            {"repo": p["name"]}, G, string_eval(exact_match=cmd), [*open_project(p), stop(cmd)]))
    for p in pick(projects):
        idea = rng.choice(ISSUE_IDEAS)
        title = idea[0].upper() + idea[1:]
        key = " ".join(idea.split()[-2:])
        out.append(TaskSpec("gitlab", "open_issue", 328, "Open an issue to {{issue}} in {{repo}}.",
                            {"issue": idea, "repo": p["name"]}, G,
                            url_eval(f"{G}/{p['namespace']}/{p['name']}/-/issues",
                                     [target("last", "document.querySelector('.detail-page-description').outerText",
                                             include=[key])]),
                            [*open_project(p), click("Issues", after="Project navigation"), click("New issue"), type_("Title (required)", title),
                             click("Create issue", role="button"), stop()]))
    invites = [(p, u) for p in projects for u in sorted(USERS) if u not in p["members"]]
    for p, user in pick(invites):
        role = rng.choice(ROLES)
        out.append(TaskSpec("gitlab", "add_member", 351, "Add the following users to repo {{repo}} as {{role}}: "
                            "{{user_list}}", {"repo": p["name"], "role": role.lower(), "user_list": [user]}, G,
                            html_eval(target(f"{G}/{p['namespace']}/{p['name']}/-/project_members",
                                             f"func:gitlab_get_project_memeber_role(__page__, '{user}')",
                                             include=[role])),
                            [*open_project(p), click("Members"), type_("Username or email address", user),
                             click(role, role="option"), click("Invite", role="button"), stop()]))
    mrs = [(p, m) for p in projects for m in p["merge_requests"]]
    for p, m in pick(mrs):
        reply = rng.choice(MR_REPLIES)
        topic = m["title"].removeprefix("Add ")
        out.append(TaskSpec("gitlab", "comment_mr", 348, 'Post "{{content}}" for the merge request related to {{mr}} '
                            "in {{repo}} project", {"content": reply, "mr": topic, "repo": p["name"]}, G,
                            html_eval(target(f"{G}/{p['namespace']}/{p['name']}/-/merge_requests/{m['iid']}",
                                             "document.querySelector('[id=\"notes-list\"').lastElementChild"
                                             ".querySelector('.timeline-discussion-body').outerText", exact=reply)),
                            [*open_project(p), click("Merge requests", after="Project navigation"), click(m["title"]),
                             type_("Add a comment", reply), click("Comment", role="button"), stop()]))
    return out
