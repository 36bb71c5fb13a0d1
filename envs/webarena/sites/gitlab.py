"""GitLab: projects, issues, merge requests, commits and members, as the user ``byteblaze``."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from ..tree import Node, Page
from .base import Site, button, combobox, first, heading, link, row, set_dom, table, text, textbox

ME = "byteblaze"
USERS = {"byteblaze": "Byte Blaze", "abisubramanya27": "Abishek S", "yjlou": "Jian Lou", "koush": "Koushik Dutta",
         "lahwaacz": "Jakub Klinkovsky", "vinta": "Vinta Chen", "sarah_k": "Sarah Kim", "primer": "Primer Bot",
         "mkiyama": "Miu Kiyama", "dtorres": "Diego Torres"}
PROJECTS = ["dotfiles", "timeit", "a11y-webring.club", "gimmiethat.space", "design-tokens", "ci-helpers",
            "millennials-to-snake-people", "kb-notes"]
ROLES = ["Guest", "Reporter", "Developer", "Maintainer"]
ISSUE_TOPICS = ["Fix broken link in README", "Add dark mode", "Crash on empty input", "Improve docs for setup",
                "Support Python 3.12", "Typo in license header", "Speed up test suite", "Refactor config loader",
                "Add CI badge", "Remove deprecated flag", "Keyboard navigation is broken", "Update dependencies"]
LABELS = ["bug", "enhancement", "documentation", "accessibility", "help wanted"]
MR_TOPICS = ["semantic HTML post", "dark mode toggle", "typo fixes", "contrast checker", "CI cache",
             "release notes", "install script"]
COMMIT_MSGS = ["Fix typo", "Update README", "Add tests", "Refactor parser", "Bump version", "Fix CI",
               "Add feature flag", "Clean up imports", "Improve error message"]
NOTES = ["Thanks, looks good.", "Could you add a test?", "Please rebase on main.", "I pushed a fix.",
         "Updated as requested."]


def generate_content(seed: int = 0) -> dict[str, Any]:
    """Generates projects with issues, merge requests, commits and members from a seed."""
    rng = random.Random(f"gitlab-{seed}")
    others = [u for u in USERS if u != ME]
    projects = []
    for name in PROJECTS:
        members = {ME: "Owner"}
        for u in rng.sample(others, rng.randint(1, 3)):
            members[u] = rng.choice(ROLES)
        issues = []
        for i, topic in enumerate(rng.sample(ISSUE_TOPICS, rng.randint(3, 6))):
            issues.append({"iid": i + 1, "title": topic, "state": rng.choice(["opened", "opened", "closed"]),
                           "labels": rng.sample(LABELS, rng.randint(0, 2)), "author": rng.choice(list(members)),
                           "assignee": rng.choice([ME, *members]), "notes": [], "description": ""})
        mrs = []
        for i, topic in enumerate(rng.sample(MR_TOPICS, rng.randint(1, 3))):
            author = rng.choice(others)
            mrs.append({"iid": 1000 + i, "title": f"Add {topic}", "author": author, "state": "opened",
                        "reviewer": rng.choice([ME, *others]), "assignee": rng.choice([ME, author]),
                        "notes": [{"author": author, "body": rng.choice(NOTES)}]})
        commits = []
        committers = [u for u in members]
        for _ in range(rng.randint(6, 14)):
            commits.append({"sha": f"{rng.randrange(16**8):08x}", "author": rng.choice(committers),
                            "date": f"2023-03-{rng.randint(1, 9):02d}", "message": rng.choice(COMMIT_MSGS)})
        commits.sort(key=lambda c: (c["date"], c["sha"]), reverse=True)
        projects.append({"namespace": ME, "name": name, "description": f"{name} by {USERS[ME]}",
                         "stars": rng.randint(0, 40), "starred": False, "members": members, "issues": issues,
                         "merge_requests": mrs, "commits": commits})
    return {"projects": projects, "users": dict(USERS), "me": ME}


class GitlabSite(Site):
    """A GitLab instance (upstream ``__GITLAB__``)."""

    name = "gitlab"
    placeholder = "__GITLAB__"
    default_url = "http://gitlab.local"
    routes = (
        (r"/", "dashboard"),
        (r"/dashboard/merge_requests/?", "my_merge_requests"),
        (r"/dashboard/issues/?", "my_issues"),
        (r"/([\w.-]+)/([\w.-]+)/?", "project"),
        (r"/([\w.-]+)/([\w.-]+)/-/issues/?", "issues"),
        (r"/([\w.-]+)/([\w.-]+)/-/issues/new", "new_issue"),
        (r"/([\w.-]+)/([\w.-]+)/-/issues/(\d+)", "issue"),
        (r"/([\w.-]+)/([\w.-]+)/-/merge_requests/?", "merge_requests"),
        (r"/([\w.-]+)/([\w.-]+)/-/merge_requests/(\d+)", "merge_request"),
        (r"/([\w.-]+)/([\w.-]+)/-/commits/main", "commits"),
        (r"/([\w.-]+)/([\w.-]+)/-/project_members", "members"),
    )

    # ----- state helpers ------------------------------------------------------------------------
    def project_by_path(self, ns: str, name: str) -> dict[str, Any] | None:
        """The project ``ns/name``."""
        return next((p for p in self.state["projects"] if p["namespace"] == ns and p["name"] == name), None)

    def project_url(self, p: Mapping[str, Any], suffix: str = "") -> str:
        """URL of a project (plus a ``/-/...`` suffix)."""
        return self.url(f"/{p['namespace']}/{p['name']}{suffix}")

    def member_role(self, project_url: str, username: str) -> str:
        """Role of ``username`` in the project at ``project_url`` (upstream ``gitlab_get_project_memeber_role``)."""
        path = project_url.replace(self.base_url, "").split("/-/")[0].strip("/").split("/")
        p = self.project_by_path(*path[:2]) if len(path) >= 2 else None
        return p["members"].get(username, "") if p else ""

    def _page(self, url: str, title: str, *body: Node) -> Page:
        nav = Node("navigation", "Main").add(
            link("Projects", self.url("/")),
            link("Issues", self.url("/dashboard/issues", assignee_username=ME)),
            link("Merge requests", self.url("/dashboard/merge_requests", assignee_username=ME)),
        )
        return Page(url=url, title=f"{title} · GitLab", body=[nav, *body])

    def _project_nav(self, p: Mapping[str, Any]) -> Node:
        return Node("navigation", "Project navigation").add(
            link("Issues", self.project_url(p, "/-/issues")),
            link("Merge requests", self.project_url(p, "/-/merge_requests")),
            link("Commits", self.project_url(p, "/-/commits/main")),
            link("Members", self.project_url(p, "/-/project_members")),
        )

    # ----- pages --------------------------------------------------------------------------------
    def dashboard(self, query: Mapping[str, list[str]]) -> Page:
        items = [link(f"{USERS[p['namespace']]} / {p['name']}", self.project_url(p)) for p in self.state["projects"]]
        return self._page(self.url("/"), "Projects", heading("Projects"), *items)

    def my_merge_requests(self, query: Mapping[str, list[str]]) -> Page:
        who, key = (first(query, "reviewer_username"), "reviewer") if "reviewer_username" in query else \
            (first(query, "assignee_username", ME), "assignee")
        found = [(p, m) for p in self.state["projects"] for m in p["merge_requests"]
                 if m[key] == who and m["state"] == "opened"]
        tabs = [link("Assigned to you", self.url("/dashboard/merge_requests", assignee_username=ME)),
                link("Review requests for you", self.url("/dashboard/merge_requests", reviewer_username=ME))]
        items = [link(m["title"], self.project_url(p, f"/-/merge_requests/{m['iid']}")) for p, m in found]
        return self._page(self.url("/dashboard/merge_requests", **{f"{key}_username": who}), "Merge requests",
                          *tabs, text(f"{len(items)} merge requests"), *items)

    def my_issues(self, query: Mapping[str, list[str]]) -> Page:
        who = first(query, "assignee_username", ME)
        found = [(p, i) for p in self.state["projects"] for i in p["issues"]
                 if i["assignee"] == who and i["state"] == "opened"]
        items = [link(i["title"], self.project_url(p, f"/-/issues/{i['iid']}")) for p, i in found]
        return self._page(self.url("/dashboard/issues", assignee_username=who), "Issues", text(f"Open {len(items)}"),
                          *items[:15])

    def project(self, query: Mapping[str, list[str]], ns: str, name: str) -> Page | None:
        p = self.project_by_path(ns, name)
        if p is None:
            return None

        def star(v: dict[str, str]) -> None:
            p["starred"] = not p["starred"]
            p["stars"] += 1 if p["starred"] else -1

        return self._page(self.project_url(p), f"{USERS[ns]} / {name}", heading(name), text(p["description"]),
                          button("Unstar" if p["starred"] else "Star", star), text(f"{p['stars']} stars"),
                          self._project_nav(p),
                          Node("group", "Clone with SSH").add(text(f"git@gitlab.local:{ns}/{name}.git")),
                          Node("group", "Clone with HTTPS").add(text(f"http://gitlab.local/{ns}/{name}.git")))

    def issues(self, query: Mapping[str, list[str]], ns: str, name: str) -> Page | None:
        p = self.project_by_path(ns, name)
        if p is None:
            return None
        state = first(query, "state", "opened")
        label = first(query, "label_name[]")
        found = [i for i in p["issues"] if (state == "all" or i["state"] == state)
                 and (not label or label in i["labels"])]
        tabs = [link(f"Open {sum(i['state'] == 'opened' for i in p['issues'])}", self.project_url(p, "/-/issues")),
                link(f"Closed {sum(i['state'] == 'closed' for i in p['issues'])}",
                     self.project_url(p, "/-/issues") + "?state=closed"),
                link("New issue", self.project_url(p, "/-/issues/new"))]
        items = []
        for i in sorted(found, key=lambda i: -i["iid"]):
            items.append(link(i["title"], self.project_url(p, f"/-/issues/{i['iid']}")))
            items.append(text(f"#{i['iid']} · opened by {i['author']}" + "".join(f" · {lb}" for lb in i["labels"])))
        q = {"state": state if state != "opened" else None, "label_name[]": label or None}
        return self._page(self.url(f"/{ns}/{name}/-/issues", **q), f"Issues · {USERS[ns]} / {name}",
                          self._project_nav(p), *tabs, *items)

    def new_issue(self, query: Mapping[str, list[str]], ns: str, name: str) -> Page | None:
        p = self.project_by_path(ns, name)
        if p is None:
            return None

        def create(v: dict[str, str]) -> str | None:
            title = v.get("title", "").strip()
            if not title:
                return None
            iid = max((i["iid"] for i in p["issues"]), default=0) + 1
            p["issues"].append({"iid": iid, "title": title, "state": "opened", "labels": [], "author": ME,
                                "assignee": "", "notes": [], "description": v.get("description", "").strip()})
            return self.project_url(p, f"/-/issues/{iid}")

        return self._page(self.project_url(p, "/-/issues/new"), f"New Issue · {USERS[ns]} / {name}",
                          heading("New Issue"), textbox("Title (required)", "title", required=True),
                          textbox("Description", "description"), button("Create issue", create))

    def issue(self, query: Mapping[str, list[str]], ns: str, name: str, iid: str) -> Page | None:
        p = self.project_by_path(ns, name)
        i = next((i for i in p["issues"] if i["iid"] == int(iid)), None) if p else None
        if p is None or i is None:
            return None

        def comment(v: dict[str, str]) -> None:
            body = v.pop("note", "").strip()
            if body:
                i["notes"].append({"author": ME, "body": body})

        def toggle(v: dict[str, str]) -> None:
            i["state"] = "closed" if i["state"] == "opened" else "opened"

        body: list[Node] = [self._project_nav(p), text("Open" if i["state"] == "opened" else "Closed"),
                            heading(i["title"]), text(f"Created by {i['author']}")]
        if i["description"]:
            body.append(text(i["description"]))
        body.append(text(f"Assignee {i['assignee'] or 'None'}"))
        body.append(text("Labels " + (", ".join(i["labels"]) or "None")))
        body += [text(f"{n['author']}: {n['body']}") for n in i["notes"][-5:]]
        body += [textbox("Add a comment", "note"), button("Comment", comment),
                 button("Close issue" if i["state"] == "opened" else "Reopen issue", toggle)]
        page = self._page(self.project_url(p, f"/-/issues/{iid}"), f"{i['title']} (#{iid}) · Issues", *body)
        set_dom(page, "document.querySelector('[data-qa-selector=\"title_content\"]').outerText", i["title"])
        set_dom(page, "document.querySelector('[data-qa-selector=\"description_content\"]').outerText",
                i["description"])
        set_dom(page, "document.querySelector('.detail-page-description').outerText",
                f"{i['title']}\n{i['description']}")
        set_dom(page, "document.querySelector('.detail-page-header-body .issuable-status-badge').outerText",
                "Open" if i["state"] == "opened" else "Closed")
        return page

    def merge_requests(self, query: Mapping[str, list[str]], ns: str, name: str) -> Page | None:
        p = self.project_by_path(ns, name)
        if p is None:
            return None
        items = [link(m["title"], self.project_url(p, f"/-/merge_requests/{m['iid']}")) for m in p["merge_requests"]]
        return self._page(self.project_url(p, "/-/merge_requests"), f"Merge requests · {USERS[ns]} / {name}",
                          self._project_nav(p), text(f"Open {len(items)}"), *items)

    def merge_request(self, query: Mapping[str, list[str]], ns: str, name: str, iid: str) -> Page | None:
        p = self.project_by_path(ns, name)
        m = next((m for m in p["merge_requests"] if m["iid"] == int(iid)), None) if p else None
        if p is None or m is None:
            return None

        def comment(v: dict[str, str]) -> None:
            body = v.pop("note", "").strip()
            if body:
                m["notes"].append({"author": ME, "body": body})

        body: list[Node] = [self._project_nav(p), heading(m["title"]),
                            text(f"Opened by {m['author']} · Reviewer {m['reviewer']}"),
                            Node("list", "Activity").add(*[text(f"{n['author']}: {n['body']}")
                                                           for n in m["notes"][-5:]]),
                            textbox("Add a comment", "note"), button("Comment", comment)]
        page = self._page(self.project_url(p, f"/-/merge_requests/{iid}"), f"{m['title']} (!{iid})", *body)
        last = m["notes"][-1]["body"] if m["notes"] else ""
        set_dom(page, "document.querySelector('[id=\"notes-list\"').lastElementChild"
                      ".querySelector('.timeline-discussion-body').outerText", last)
        return page

    def commits(self, query: Mapping[str, list[str]], ns: str, name: str) -> Page | None:
        p = self.project_by_path(ns, name)
        if p is None:
            return None
        rows = [row([c["message"], f"{c['author']} authored {c['date']}", c["sha"]]) for c in p["commits"]]
        return self._page(self.project_url(p, "/-/commits/main"), f"Commits · {USERS[ns]} / {name}",
                          self._project_nav(p), heading("Commits on main"), table(["Commit", "Author", "SHA"], rows))

    def members(self, query: Mapping[str, list[str]], ns: str, name: str) -> Page | None:
        p = self.project_by_path(ns, name)
        if p is None:
            return None

        def invite(v: dict[str, str]) -> None:
            user = v.pop("invite_user", "").strip().lstrip("@")
            if user in USERS and user != p["namespace"]:
                p["members"][user] = v.get("invite_role", "Guest")

        rows = [row([USERS.get(u, u), f"@{u}", role]) for u, role in p["members"].items()]
        page = self._page(self.project_url(p, "/-/project_members"), f"Members · {USERS[ns]} / {name}",
                          self._project_nav(p), heading("Project members"),
                          table(["Account", "Username", "Max role"], rows),
                          heading("Invite members"), textbox("Username or email address", "invite_user"),
                          combobox("Select a role", "invite_role", ROLES), button("Invite", invite))
        page.values["invite_role"] = "Guest"
        return page
