"""Building a site: the entry points callers use (`build`, `Builder`, `site_in_memory`).

The build itself is one pipeline of phases (pipeline.py); what changed since the last
build is one value (changes.py); the phases are in phases.py and rendering.py, and the
per-build context and options in context.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import jinja2

from masthead.building.context import BuildOptions, BuildReport, Inputs, Mode, resolve_inputs
from masthead.building.phases import find_site_paths
from masthead.building.pipeline import Builder
from masthead.model.site import Site, build_site
from masthead.model.sitepaths import SitePaths
from masthead.outputs.assets import Assets, collect_assets
from masthead.outputs.plan import PageSpec, plan_pages
from masthead.outputs.render import make_env, set_missing_paths, theme_dir
from masthead.records.data import SiteData, load_data
from masthead.records.loader import LoadResult, load_records

__all__ = [
    "BuildOptions",
    "BuildReport",
    "Builder",
    "Inputs",
    "Mode",
    "SiteInMemory",
    "build",
    "find_site_paths",
    "resolve_inputs",
    "site_in_memory",
]


def build(options: BuildOptions) -> BuildReport:
    return Builder(options).build()


@dataclass(frozen=True, slots=True)
class SiteInMemory:
    """A site loaded, modelled and planned as a build does it, without writing a byte:
    what `check` validates and `newsletter` renders its email from."""

    inputs: Inputs
    loaded: LoadResult
    data: SiteData
    site: Site
    specs: list[PageSpec]
    assets: Assets
    site_paths: SitePaths

    def environment(self) -> jinja2.Environment:
        """The templates as a build renders them, site paths that lead nowhere left out."""
        inputs = self.inputs
        env = make_env(inputs.config, inputs.site_dir / "templates", None, self.assets.urls)
        set_missing_paths(env, self.site_paths.missing)
        return env


def site_in_memory(options: BuildOptions) -> SiteInMemory:
    """Read and plan the site of `options` (ConfigError for a bad site.toml)."""
    inputs = resolve_inputs(options)
    loaded = load_records(inputs.content_dir, inputs.config)
    data = load_data(inputs.site_dir)
    site = build_site(loaded.records, inputs.config, options.drafts, data)
    specs = list(plan_pages(site))
    assets = collect_assets(theme_dir() / "assets", inputs.site_dir / "static")
    paths = find_site_paths(inputs, site, data, specs, assets)
    return SiteInMemory(inputs, loaded, data, site, specs, assets, paths)
