"""Ask pip's own requirements-file parser which indexes a set of files leaves in force (one process, many cases).

stdin: [{"file": PATH, "index_urls": [...], "find_links": [...]}]; stdout: [{"index_urls", "find_links", "trusted_hosts",
"no_index"}] as pip's PackageFinder holds them after parse_requirements (pip/_internal/req/req_file.py)."""

import json
import sys

from pip._internal.index.collector import LinkCollector
from pip._internal.index.package_finder import PackageFinder
from pip._internal.models.search_scope import SearchScope
from pip._internal.models.selection_prefs import SelectionPreferences
from pip._internal.network.session import PipSession
from pip._internal.req.req_file import parse_requirements

out = []
for case in json.load(sys.stdin):
    session = PipSession()
    scope = SearchScope.create(find_links=list(case["find_links"]), index_urls=list(case["index_urls"]), no_index=False)
    finder = PackageFinder.create(link_collector=LinkCollector(session=session, search_scope=scope),
                                  selection_prefs=SelectionPreferences(allow_yanked=True))
    list(parse_requirements(case["file"], session=session, finder=finder))
    out.append({"index_urls": list(finder.index_urls), "find_links": list(finder.find_links),
                "trusted_hosts": [h for h in finder.trusted_hosts], "no_index": finder.search_scope.no_index})
print(json.dumps(out))
