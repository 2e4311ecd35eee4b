"""Emitter-formatted modules skip black; only blocks the emitter did not vouch for are formatted."""

from __future__ import annotations

from pathlib import PurePosixPath

import black
import pytest
from gatewright.compiler.emit.layout import (
    PreformattedSource,
    docstring_literal,
    sdk_item_lines,
    sdk_lines,
    tracking_misses,
)
from gatewright.compiler.format import BLACK_MODE, FormatCache, _format_modules

PATH = PurePosixPath("m.py")

# Not black's style on purpose: if black ran, these texts would change.
TRUSTED = "x = {'a':1}\n\n\ndef f(a,b):\n    return a+b\n"
UNSURE_BLOCK = "def g(a,b):\n    return a+b\n"


def test_a_vouched_for_module_is_left_as_it_is() -> None:
    out = _format_modules({PATH: PreformattedSource(TRUSTED)}, FormatCache(None))
    assert out[PATH] == TRUSTED


def test_only_blocks_with_unsure_lines_go_through_black() -> None:
    text = PreformattedSource(TRUSTED + "\n\n" + UNSURE_BLOCK, frozenset({"return a+b"}))
    out = _format_modules({PATH: text}, FormatCache(None))
    # both functions hold the unsure line; the preamble is kept as printed
    assert out[PATH] == "x = {'a':1}\n\n\ndef f(a, b):\n    return a + b\n\n\ndef g(a, b):\n    return a + b\n"


def test_plain_text_still_goes_through_black() -> None:
    out = _format_modules({PATH: TRUSTED}, FormatCache(None))
    assert out[PATH] == black.format_str(TRUSTED, mode=BLACK_MODE)


# Lines of the shapes the SDK templates generate, at their indentation; each is
# laid out by ``sdk_lines`` (or ``sdk_item_lines`` inside an exploded bracket) and
# must come out exactly as black prints it.
CLASS_LINES = [
    "template_repository: _m_repository_template_repository.RepositoryTemplateRepository | None | _b.Unset = _b.UNSET",
    "template_repository_xxxxxxxxxxxx: _m_repository_template_repository.RepositoryTemplateRepository",
    "template_repository_xxxxxxxxxxxx: list[_m_repository_template_repository.RepositoryTemplateRepository] | _b.Unset = _b.UNSET",
    "insecure_ssl: _m_webhook_config_insecure_ssl.WebhookConfigInsecureSsl | _b.Unset = _b.UNSET",
    "labels: list[_m_issue_search_result_item_labels_item.IssueSearchResultItemLabelsItem]",
    "pull_request: _m_pull_request_review_comment_links_pull_request.PullRequestReviewCommentLinksPullRequest",
    "x: list[_m_scim_update_attribute_for_user_body_operations_item.ScimUpdateAttributeForU] | None",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ = 'abcdefghijkl abcdefghijkl abcdefghijkl abcdefghijkl abcdefghijkl abcdefghijkl'",
    "def get_authenticated(self, *, timeout: float | None | _b.Unset = _b.UNSET, max_retries: int | None = None) -> _b.ApiResponse[_m_users_get_authenticated_response200.UsersGetAuthenticatedResponse200]:",
    "def get_commit_activity_stats(self, *, owner: str, repo: str, timeout: float | None | _b.Unset = _b.UNSET) -> _b.ApiResponse[list[_m_commit_activity.CommitActivity] | None]:",
    "def x(self, *, q: str, sort: _m_search_issues_and_pull_requests_sort.SearchIssuesAndPullRequestsSort | _t.Literal['comments', 'reactions', 'reactions-+1', 'reactions--1', 'reactions-smile'] | None = None) -> None:",
    "def get_by_username(self, *, username: str) -> _b.ApiResponse[_m_users_get_by_username_response200.UsersGetByUsernameResponse200 | dict[str, _t.Any]]:",
    "def from_json(cls, data: _abc.Mapping[str, _t.Any]) -> ActionsListSelectedRepositoriesEnabledGithubActionsOrganizationResponse200:",
]
MODULE_LINES = [
    "from . import repos_list_for_authenticated_user_visibility as _m_repos_list_for_authenticated_user_visibility",
    "__all__ = ['ActionsListArtifactsForRepoResponse200', 'ActionsListArtifactsForRepoResponse200Dict']",
    "UsersAddEmailForAuthenticatedUserBody: _t.TypeAlias = '_m_users_add_email_for_authenticated_user_body_variant1.UsersAddEmailForAuthenticatedUserBodyVariant1 | list[str] | str | _b.UnknownVariant'",
    "def _parse_get_by_username(_r: _b.HttpResponse) -> _m_users_get_by_username_response200.UsersGetByUsernameResponse200 | dict[str, _t.Any]:",
    "def _parse_list_artifacts_for_repo(_r: _b.HttpResponse) -> _m_actions_list_artifacts_for_repo_response200.ActionsListArtifactsForRepoResponse200:",
    "def _parse_x(_r: _b.HttpResponse) -> _m_activity_list_repos_starred_by_user_response200.ActivityListReposStarredByUserResponse200:",
    "class ReposListForAuthenticatedUserVisibilityReposListForAuthenticatedUserVisibility(str, _enum.Enum):",
]
FUNCTION_LINES = [
    "return self._portal.call(self._async.set_selected_repositories_enabled_github_actions_organization.raw(org=org, body=body, timeout=timeout, max_retries=max_retries))",
    "return self._portal.call(self._async.list_selected_repositories.raw(org=org, body=body, timeout=timeout))",
    "return _m_apps_get_installation_response415.AppsGetInstallationResponse415.from_json(_data)",
    "return [_m_organization_secret_scanning_alert.OrganizationSecretScanningAlert.from_json(_v1) for _v1 in _b.as_list(_data)]",
    "return [_m_minimal_repository.MinimalRepository.from_json(_v1) for _v1 in _b.as_list(_data)]",
    "return _b.decode_model(cls, data, cls.__sdk_fields__, 'ActionsListSelectedRepositoriesEnabledGithubActionsOrganizationResponse200')",
]
NESTED_LINES = [
    "return _m_projects_delete_card_response403.ProjectsDeleteCardResponse403.from_json(_data)",
    "return _m_timeline_line_commented_event.TimelineLineCommentedEvent.from_json(data)",
    "return _m_apps_get_installation_response415.AppsGetInstallationResponse415.from_json(_data)",
    "return (None if data is None else _b.as_list(data))",
]
ITEMS = [
    "('rule', 'rule', True, False, lambda _v0: _m_code_scanning_alert_rule_summary.CodeScanningAlertRuleSummary.from_json(_v0))",
    "('users', 'users', True, False, lambda _v0: [_m_simple_user.SimpleUser.from_json(_v1) for _v1 in _b.as_list(_v0)])",
    "('state', 'state', True, False, lambda _v0: _b.open_enum(_m_repos_create_commit_status_body_state.ReposCreateCommitStatusBodyState, _v0))",
    "('history', 'history', False, False, lambda _v0: (None if _v0 is None else [_m_gist_history.GistHistory.from_json(_v1) for _v1 in _b.as_list(_v0)]))",
    "('start_side', 'start_side', False, False, lambda _v0: (None if _v0 is None else _b.open_enum(_m_review_comment_start_side.ReviewCommentStartSide, _v0)))",
    "('x', 'x', False, False, lambda _v0: (None if _v0 is None else _b.parse_datetime(_v0)))",
    "('parents', 'parents', True, False, lambda _v0: [_m_timeline_committed_event_parents_item.TimelineCommittedEventParentsItem.from_json(_v1) for _v1 in _b.as_list(_v0)])",
    "'actor': '_t.Required[_m_simple_user.SimpleUser | _m_simple_user.SimpleUserDict | _m_simple_user.Other]'",
    "path='/orgs/{org}/teams/{team_slug}/discussions/{discussion_number}/comments/{comment_number}/reactions'",
    "_b.ParamSpec('discussion_number_with_a_long_name', 'path', 'simple', False, False, 'application/json')",
]


def _quoted(line: str) -> str:
    return line.replace("'", '"')  # black's quotes (the samples hold no quote characters)


def _check(source: str, lines: list[str]) -> None:
    expected = black.format_str(source, mode=BLACK_MODE)
    assert expected == source, "\n".join(lines)


@pytest.mark.parametrize("line", CLASS_LINES)
def test_class_body_lines_match_black(line: str) -> None:
    code = _quoted(line)
    body = "        pass\n" if code.startswith("def ") else ""
    with tracking_misses() as misses:
        laid = sdk_lines(4, code)
    assert not misses
    _check("class A:\n    " + laid + "\n" + body, [line])


@pytest.mark.parametrize("line", MODULE_LINES)
def test_module_lines_match_black(line: str) -> None:
    code = _quoted(line)
    body = "    pass\n" if code.startswith(("def ", "class ")) else ""
    with tracking_misses() as misses:
        laid = sdk_lines(0, code)
    assert not misses
    _check(laid + "\n" + body, [line])


@pytest.mark.parametrize("line", FUNCTION_LINES)
def test_function_body_lines_match_black(line: str) -> None:
    with tracking_misses() as misses:
        laid = sdk_lines(8, _quoted(line))
    assert not misses
    _check("class A:\n    def f(self):\n        " + laid + "\n", [line])


@pytest.mark.parametrize("line", NESTED_LINES)
def test_nested_body_lines_match_black(line: str) -> None:
    with tracking_misses() as misses:
        laid = sdk_lines(12, _quoted(line))
    assert not misses
    _check("class A:\n    def f(self):\n        if x:\n            " + laid + "\n", [line])


@pytest.mark.parametrize("item", ITEMS)
def test_exploded_items_match_black(item: str) -> None:
    code = _quoted(item)
    with tracking_misses() as misses:
        laid = sdk_item_lines(8, code)
    assert not misses
    # a dict entry goes in a dict, anything else in an exploded call
    opening, closing, other = ("{", "}", '"k": 1') if code.startswith('"') else ("f(", ")", '"k"')
    _check(f"class A:\n    x = {opening}\n        {laid}\n        {other},\n    {closing}\n", [item])


def test_an_unknown_shape_is_recorded_not_guessed() -> None:
    line = "value = some_function(argument_one)[index_expression] + other_function(argument_two, argument_three)"
    with tracking_misses() as misses:
        assert sdk_lines(0, line) == line
    assert misses == {line}


@pytest.mark.parametrize(
    "body",
    [
        "Summary.",
        "  Leading and trailing space.  ",
        'Ends in a quote"',
        "Two lines.\n\n    JSON: ``#/components/schemas/X``.\n    ",
        "Indented\n        more\n    less\n",
        "Tabs\n\tinside\n",
        "Long last line " + "x" * 80 + "\n    " + "y" * 84,
        "First.\nA last line long enough to push the closing quotes over the limit, ending in a quote: \"x.\" ",
        "",
    ],
)
def test_docstrings_match_black(body: str) -> None:
    source = "class A:\n    " + docstring_literal(body, 4) + "\n"
    assert black.format_str(source, mode=BLACK_MODE) == source


def test_a_vouched_for_module_that_does_not_parse_fails() -> None:
    # black would reject it; skipping black must not let broken code through
    broken = PreformattedSource("def f(:\n    pass\n")
    with pytest.raises(SyntaxError):
        _format_modules({PATH: broken}, FormatCache(None))
