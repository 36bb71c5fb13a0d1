"""Reddit: a small Postmill forum site (forums, posts, comments, voting, profile bio)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from ..tree import Node, Page
from .base import Site, button, heading, link, set_dom, slug, text, textbox

ME = "MarvelsGrantMan136"
FORUMS = {
    "books": ["What are you reading this week?", "Best fantasy series of the decade", "Audiobooks vs paper",
              "Book club picks for spring", "Underrated sci-fi novels"],
    "gaming": ["Which indie game surprised you?", "Controller vs keyboard", "Favorite co-op games",
               "Speedrun tips for beginners", "Retro consoles worth buying"],
    "personalfinance": ["How much emergency fund is enough?", "First budget spreadsheet", "Paying off student loans",
                        "Index funds explained", "Saving for a house"],
    "Pittsburgh": ["Best pierogies in town", "Bike lanes on Forbes Ave", "Weekend farmers markets",
                   "Moving to Pittsburgh advice", "Parking near the stadium"],
    "relationship_advice": ["How to split chores fairly", "Meeting partner's parents", "Long distance tips",
                            "Planning a surprise trip", "Talking about finances"],
    "MachineLearning": ["Tips for reproducible experiments", "Small models that punch above weight",
                        "Reading group: diffusion papers", "GPU vs CPU for inference", "Dataset licensing questions"],
}
USERS = ["jsmith42", "quietreader", "pixel_pusher", "steelcity_sam", "budgetbee", "gradient_ghost", "nightowl",
         "trailrunner", ME]
COMMENTS = ["Totally agree with this.", "Thanks for sharing!", "I had the same experience.", "Source?",
            "This is the way.", "Great question, following."]


def generate_content(seed: int = 0) -> dict[str, Any]:
    """Generates forums with posts, comments and votes from a seed."""
    rng = random.Random(f"reddit-{seed}")
    posts, pid = [], 100
    for forum, titles in FORUMS.items():
        for k, title in enumerate(titles):
            pid += rng.randint(1, 9)
            comments = [{"id": pid * 10 + j, "author": rng.choice(USERS[:-1]), "body": rng.choice(COMMENTS),
                         "votes": rng.randint(-3, 20)} for j in range(rng.randint(0, 3))]
            posts.append({"id": pid, "forum": forum, "title": title, "author": rng.choice(USERS[:-1]),
                          "body": f"{title}? Curious what everyone thinks.", "votes": rng.randint(-5, 300),
                          "age_hours": rng.randint(1, 400), "my_vote": 0, "comments": comments})
    return {"posts": posts, "forums": sorted(FORUMS), "bio": "", "subscriptions": [], "me": ME}


class RedditSite(Site):
    """A Postmill forum (upstream ``__REDDIT__``)."""

    name = "reddit"
    placeholder = "__REDDIT__"
    default_url = "http://reddit.local"
    routes = (
        (r"/", "front"),
        (r"/forums/?", "forums"),
        (r"/f/(\w+)/?", "forum"),
        (r"/f/(\w+)/new/?", "forum_new"),
        (r"/f/(\w+)/(\d+)(?:/[\w-]*)?/?", "post"),
        (r"/submit/(\w+)/?", "submit"),
        (r"/user/(\w+)/?", "user"),
        (r"/user/(\w+)/edit_biography/?", "edit_bio"),
    )

    # ----- state helpers ------------------------------------------------------------------------
    def post_url(self, p: Mapping[str, Any]) -> str:
        """Canonical URL of a post (``/f/forum/id/slug``)."""
        return self.url(f"/f/{p['forum']}/{p['id']}/{slug(p['title'])}")

    def post_url_of(self, url: str) -> str:
        """The post URL of any post or comment URL (upstream helper ``reddit_get_post_url``)."""
        path = url.replace(self.base_url, "").split("?")[0].strip("/").split("/")
        if len(path) < 3 or path[0] != "f" or not path[2].isdigit():
            return url
        return self.url(f"/f/{path[1]}/{path[2]}/")

    def _forum_key(self, name: str) -> str | None:
        return next((f for f in self.state["forums"] if f.lower() == name.lower()), None)

    def _page(self, url: str, title: str, *body: Node) -> Page:
        nav = Node("navigation", "").add(link("Postmill", self.url("/")), link("Forums", self.url("/forums")),
                                         link(ME, self.url(f"/user/{ME}")))
        return Page(url=url, title=title, body=[nav, *body])

    def _post_items(self, posts: list[dict[str, Any]]) -> list[Node]:
        nodes: list[Node] = []
        for p in posts:
            nodes.append(Node("article", "").add(
                link(p["title"], self.post_url(p)),
                text(f"Submitted by {p['author']} {p['age_hours']} hours ago in {p['forum']}"),
                link(f"{len(p['comments'])} comments", self.post_url(p), describe=f"the comments link of {p['title']!r}"),
                *self._vote_buttons(p)))
        return nodes

    def _vote_buttons(self, p: dict[str, Any]) -> list[Node]:
        def vote(direction: int):
            def do(v: dict[str, str]) -> None:
                p["votes"] -= p["my_vote"]
                p["my_vote"] = 0 if p["my_vote"] == direction else direction
                p["votes"] += p["my_vote"]
            return do
        return [button("Upvote", vote(1), describe=f"the 'Upvote' button of {p['title']!r}",
                       pressed=p["my_vote"] == 1),
                text(str(p["votes"])),
                button("Downvote", vote(-1), describe=f"the 'Downvote' button of {p['title']!r}",
                       pressed=p["my_vote"] == -1)]

    # ----- pages --------------------------------------------------------------------------------
    def front(self, query: Mapping[str, list[str]]) -> Page:
        hot = sorted(self.state["posts"], key=lambda p: -p["votes"])[:6]
        return self._page(self.url("/"), "Postmill", heading("Hot submissions"), *self._post_items(hot))

    def forums(self, query: Mapping[str, list[str]]) -> Page:
        return self._page(self.url("/forums"), "List of forums", heading("Forums"),
                          *[link(f, self.url(f"/f/{f}")) for f in self.state["forums"]])

    def _forum_page(self, name: str, newest: bool) -> Page | None:
        f = self._forum_key(name)
        if f is None:
            return None
        posts = [p for p in self.state["posts"] if p["forum"] == f]
        posts.sort(key=(lambda p: p["age_hours"]) if newest else (lambda p: -p["votes"]))
        subscribed = f in self.state["subscriptions"]

        def subscribe(v: dict[str, str]) -> None:
            if f in self.state["subscriptions"]:
                self.state["subscriptions"].remove(f)
            else:
                self.state["subscriptions"].append(f)

        url = self.url(f"/f/{f}/new" if newest else f"/f/{f}")
        page = self._page(url, f"/f/{f}", heading(f"/f/{f}"),
                          link("Hot", self.url(f"/f/{f}")), link("New", self.url(f"/f/{f}/new")),
                          button("Unsubscribe" if subscribed else "Subscribe", subscribe),
                          link("Submit", self.url(f"/submit/{f}")), *self._post_items(posts))
        return page

    def forum(self, query: Mapping[str, list[str]], name: str) -> Page | None:
        return self._forum_page(name, newest=False)

    def forum_new(self, query: Mapping[str, list[str]], name: str) -> Page | None:
        return self._forum_page(name, newest=True)

    def post(self, query: Mapping[str, list[str]], forum: str, pid: str) -> Page | None:
        p = next((p for p in self.state["posts"] if p["id"] == int(pid) and p["forum"] == forum), None)
        if p is None:
            return None

        def reply(v: dict[str, str]) -> None:
            body = v.pop("comment", "").strip()
            if body:
                p["comments"].append({"id": p["id"] * 10 + len(p["comments"]), "author": ME, "body": body,
                                      "votes": 1})

        comments = [Node("article", "").add(text(f"{c['author']}: {c['body']}")) for c in p["comments"][-6:]]
        page = self._page(self.post_url(p), f"{p['title']} : {p['forum']}",
                          heading(p["title"]), text(f"Submitted by {p['author']} in {p['forum']}"), text(p["body"]),
                          *self._vote_buttons(p), heading(f"{len(p['comments'])} comments"), *comments,
                          textbox("Comment", "comment"), button("Post", reply))
        set_dom(page, "document.querySelector('.submission__inner').outerText", f"{p['title']}\n{p['body']}")
        set_dom(page, "document.querySelector('.submission__vote').outerText", str(p["votes"]))
        set_dom(page, "document.querySelector('div.submission__vote').querySelector('form').getAttribute('class')",
                {1: "vote vote--user-upvoted", -1: "vote vote--user-downvoted"}.get(p["my_vote"], "vote"))
        set_dom(page, "document.querySelector('.comment__body:last-of-type').outerText",
                p["comments"][-1]["body"] if p["comments"] else "")
        return page

    def submit(self, query: Mapping[str, list[str]], forum: str) -> Page | None:
        f = self._forum_key(forum)
        if f is None:
            return None

        def create(v: dict[str, str]) -> str | None:
            title = v.get("title", "").strip()
            if not title:
                return None
            pid = max(p["id"] for p in self.state["posts"]) + 1
            post = {"id": pid, "forum": f, "title": title, "author": ME, "body": v.get("body", "").strip(),
                    "votes": 1, "age_hours": 0, "my_vote": 1, "comments": []}
            self.state["posts"].append(post)
            return self.post_url(post)

        return self._page(self.url(f"/submit/{f}"), "Create submission", heading(f"Create submission in {f}"),
                          textbox("Title", "title", required=True), textbox("Body", "body"),
                          button("Create submission", create))

    def user(self, query: Mapping[str, list[str]], name: str) -> Page | None:
        if name not in USERS:
            return None
        bio = self.state["bio"] if name == ME else ""
        mine = [p for p in self.state["posts"] if p["author"] == name][:5]
        body: list[Node] = [heading(name), text(f"Biography {bio}" if bio else "No biography.")]
        if name == ME:
            body.append(link("Edit biography", self.url(f"/user/{ME}/edit_biography")))
        body += self._post_items(mine)
        page = self._page(self.url(f"/user/{name}"), name, *body)
        set_dom(page, 'document.querySelector(".user-bio__biography").outerText', bio)
        return page

    def edit_bio(self, query: Mapping[str, list[str]], name: str) -> Page | None:
        if name != ME:
            return None

        def save(v: dict[str, str]) -> str:
            self.state["bio"] = v.get("bio", "").strip()
            return self.url(f"/user/{ME}")

        page = self._page(self.url(f"/user/{ME}/edit_biography"), "Edit biography",
                          textbox("Biography", "bio"), button("Save", save))
        page.values["bio"] = self.state["bio"]
        return page
