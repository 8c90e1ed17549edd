// The dbt Cloud view's pages. Everything shown comes from the JSON routes of the same app and is put
// on the page with textContent, never as HTML, so a model name or a message cannot inject markup.
"use strict";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function statusClass(text) {
  return "s-" + String(text || "").toLowerCase().replace(/[^a-z]+/g, "-");
}

function badge(text) {
  return el("span", { class: "badge " + statusClass(text), "data-testid": "status" }, text || "unknown");
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  if (value < 60) return value.toFixed(value < 10 ? 2 : 1) + " s";
  const m = Math.floor(value / 60), s = Math.round(value % 60);
  return m < 60 ? `${m} min ${s} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function external(href, text) {
  // Only http(s) addresses become links; the server checked them against the connection's host too.
  if (!href || !/^https?:\/\//i.test(href)) return null;
  return el("a", { href, target: "_blank", rel: "noopener noreferrer" }, text);
}

function facts(rows) {
  const list = el("dl", { class: "facts" });
  for (const [label, value] of rows) {
    if (value === null || value === undefined || value === "") continue;
    list.append(el("dt", {}, label), el("dd", {}, value));
  }
  return list;
}

function message(text, kind) {
  return el("p", { class: kind || "muted", "data-testid": "message" }, text);
}

async function getJson(url) {
  const answer = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  let body = null;
  try { body = await answer.json(); } catch (e) { body = null; }
  return { status: answer.status, body };
}

function problem(status, body) {
  if (status === 401) return "Sign in to Airflow to see this view.";
  if (status === 403) return "You do not have access to this DAG.";
  return (body && typeof body.detail === "string") ? body.detail : `The view could not be loaded (HTTP ${status}).`;
}

// ---- the node table: sortable, failed first -------------------------------------------------------
const COLUMNS = [
  { key: "name", label: "Node" },
  { key: "resource_type", label: "Type" },
  { key: "status", label: "Status" },
  { key: "execution_time", label: "Time", num: true },
];

function nodeTable(nodes) {
  let order = { key: null, up: true };
  const body = el("tbody");
  const fill = () => {
    const rows = nodes.slice();
    if (order.key) {
      rows.sort((a, b) => {
        const x = a[order.key], y = b[order.key];
        const c = (x === null) - (y === null) || (x < y ? -1 : x > y ? 1 : 0);
        return order.up ? c : -c;
      });
    }
    body.replaceChildren(...rows.map((n) => el("tr", { class: n.failed ? "failed" : null, "data-node": n.unique_id },
      el("td", { title: n.unique_id }, n.name),
      el("td", {}, n.resource_type),
      el("td", { class: statusClass(n.status) }, n.status),
      el("td", { class: "num" }, seconds(n.execution_time)))));
  };
  const head = el("tr", {}, COLUMNS.map((c) => {
    const button = el("button", { type: "button" }, c.label);
    button.addEventListener("click", () => {
      order = { key: c.key, up: order.key === c.key ? !order.up : !c.num };
      fill();
    });
    return el("th", { class: c.num ? "num" : null, scope: "col" }, button);
  }));
  fill();
  return el("table", { "data-testid": "nodes" }, el("thead", {}, head), body);
}

function counts(nodes) {
  const by = {};
  for (const n of nodes) by[n.status] = (by[n.status] || 0) + 1;
  return Object.entries(by).sort().map(([s, c]) => `${c} ${s}`).join(", ");
}

// ---- the task instance page ------------------------------------------------------------------------
function renderTask(data, root, updated) {
  const run = data.run, task = data.task;
  const head = el("header", {},
    el("h1", {}, `dbt Cloud run ${run.id} `, badge(run.status_name)),
    el("p", { class: "muted" }, run.job_name ? `Job ${run.job_name} (${run.job_id})` : `Job ${run.job_id ?? "?"}`));
  const startedBy = run.marker === null ? "not started by Airflow (this task watched it)"
    : task.started_by_this_task ? `this task instance (${task.dag_id} / ${task.task_id}, try ${task.try_number})`
      : "another Airflow task instance";
  const sha = run.git_sha ? run.git_sha.slice(0, 12) : null;
  const parts = [el("p", { class: "links" }, el("a", { href: "../../../" }, "All dbt Cloud jobs")), head, facts([
    ["Status", run.status_name],
    ["Duration", seconds(run.duration_seconds) + (run.ended ? "" : " so far")],
    ["Trigger cause", run.cause],
    ["Started by", startedBy],
    ["Git", [run.git_branch, sha].filter(Boolean).join(" @ ")],
    ["Created", run.created_at], ["Started", run.started_at], ["Finished", run.finished_at],
    ["Airflow task", `${task.dag_id} / ${task.run_id} / ${task.task_id}` + (task.map_index >= 0 ? ` [${task.map_index}]` : "") + ` (${task.state ?? "no state"})`],
    ["Connection", task.conn_id],
    // Airflow's frame for plugin pages allows no popups, so the links below cannot open a tab from
    // inside it: the address is shown to copy (the Details tab's extra links open it too).
    ["Run in dbt Cloud", run.url],
  ])];
  const links = el("p", { class: "links" },
    external(run.url, "Open the run in dbt Cloud"), external(run.job_url, "Open the job in dbt Cloud"),
    data.artifacts.map((name) => el("a", { href: apiUrl(`/artifacts/${encodeURIComponent(name)}`), download: name }, name)));
  parts.push(links);
  if (!run.ended) {
    const done = data.steps.filter((s) => ["Success", "Error", "Cancelled"].includes(s.status)).length;
    const share = data.steps.length ? Math.round((100 * done) / data.steps.length) : 0;
    parts.push(el("section", { "data-testid": "live" }, el("h2", {}, "In progress"),
      el("p", {}, `${done} of ${data.steps.length} steps done; refreshed every ${data.refresh_seconds} s (last ${updated}).`),
      el("div", { class: "progress", role: "progressbar", "aria-valuenow": share, "aria-valuemin": 0, "aria-valuemax": 100 },
        el("span"))));
  }
  const failedNodes = data.nodes.filter((n) => n.failed);
  const failedSteps = data.steps.filter((s) => s.failed);
  if (run.outcome === "error" || run.outcome === "cancelled" || failedNodes.length) {
    const box = el("section", { "data-testid": "failures" }, el("h2", {}, "What failed"));
    if (run.status_message) box.append(el("p", {}, run.status_message));
    for (const s of failedSteps) box.append(el("p", {}, `Step ${s.index} ${s.status}: ${s.name}`));
    for (const n of failedNodes) {
      box.append(el("div", { class: "failure" }, el("strong", {}, n.unique_id), " ", badge(n.status),
        n.message ? el("pre", {}, n.message) : null));
    }
    parts.push(box);
    parts.push(el("section", { class: "next" }, el("h2", {}, "What to do next"),
      el("ul", {},
        el("li", {}, "Read the failed node's message above, fix the model or its data, and push the change."),
        el("li", {}, "Clear this task in Airflow to start a new dbt Cloud run" +
          (run.can_retry ? "; with retry_from_failure=True the new try reruns only what failed." : ".")),
        run.url ? el("li", {}, "The full logs of each step are on the run's page in dbt Cloud.") : null)));
  }
  if (data.steps.length) {
    parts.push(el("h2", {}, "Steps"), el("table", { "data-testid": "steps" },
      el("thead", {}, el("tr", {}, el("th", {}, "#"), el("th", {}, "Step"), el("th", {}, "Status"), el("th", {}, "Duration"))),
      el("tbody", {}, data.steps.map((s) => el("tr", { class: s.failed ? "failed" : null },
        el("td", {}, s.index), el("td", {}, s.name), el("td", { class: statusClass(s.status) }, s.status), el("td", {}, s.duration ?? ""))))));
  }
  if (data.nodes.length) {
    parts.push(el("h2", {}, `Nodes `, el("span", { class: "muted", "data-testid": "node-count" },
      `${data.nodes.length} nodes: ${counts(data.nodes)}`)), nodeTable(data.nodes));
  }
  for (const note of data.notes) parts.push(message(note));
  root.replaceChildren(...parts);
  const bar = root.querySelector(".progress > span");
  if (bar) bar.style.width = `${root.querySelector(".progress").getAttribute("aria-valuenow")}%`;
}

// The page is /dbt-cloud/ti/<dag>/<run>/<task>?map_index=N; its data is under /dbt-cloud/api/ti/.
function apiUrl(suffix) {
  return location.pathname.replace("/dbt-cloud/ti/", "/dbt-cloud/api/ti/") + (suffix || "") + location.search;
}

async function showTask(root) {
  const { status, body } = await getJson(apiUrl());
  if (status !== 200) {
    root.replaceChildren(message(problem(status, body), status === 404 ? "muted" : "error"));
    return;
  }
  renderTask(body, root, new Date().toLocaleTimeString());
  if (body.refresh_seconds) setTimeout(() => showTask(root), body.refresh_seconds * 1000);
}

// ---- the overview page ------------------------------------------------------------------------------
// Airflow shows plugin pages in a sandboxed frame that may not navigate the page around it, so a task
// links to its dbt Cloud view here; the task instance's own path is shown beside it.
function tiLink(item, text) {
  return el("a", { href: item.view_url, title: `Airflow: ${item.ti_url}` }, text);
}

function renderOverview(data, root) {
  const parts = [el("h1", {}, "dbt Cloud jobs run by Airflow")];
  parts.push(el("h2", {}, "In progress"));
  if (!data.in_progress.length) parts.push(message("No task is waiting on a dbt Cloud run."));
  else {
    parts.push(el("table", { "data-testid": "in-progress" },
      el("thead", {}, el("tr", {}, ["dbt Cloud run", "Job", "Task instance", "State", "Since"].map((h) => el("th", {}, h)))),
      el("tbody", {}, data.in_progress.map((r) => el("tr", {},
        el("td", {}, r.dbt_run_id), el("td", {}, r.job_id ?? ""), el("td", {}, tiLink(r, `${r.dag_id} / ${r.task_id}`)),
        el("td", {}, r.state), el("td", {}, r.start_date ?? "")))))); 
  }
  if (!data.connections.length) parts.push(message("No DAG you can read has run a dbt Cloud job yet."));
  for (const conn of data.connections) {
    parts.push(el("h2", {}, `Connection ${conn.conn_id}`));
    parts.push(el("table", { "data-testid": "jobs" },
      el("thead", {}, el("tr", {}, ["Job", "Task runs", "Success rate", "Mean task duration", "Last run", "Last task"].map((h) => el("th", {}, h)))),
      el("tbody", {}, conn.jobs.map((j) => el("tr", {},
        el("td", {}, j.job),
        el("td", { class: "num" }, j.task_runs),
        el("td", { class: "num" }, j.success_rate === null ? "" : `${Math.round(j.success_rate * 100)}% of ${j.finished}`),
        el("td", { class: "num" }, seconds(j.mean_duration)),
        el("td", {}, `${j.last.dbt_run_id} `, badge(j.last.state)),
        el("td", {}, tiLink(j.last, `${j.last.dag_id} / ${j.last.task_id}`)))))));
  }
  root.replaceChildren(...parts);
}

async function showOverview(root) {
  const { status, body } = await getJson("api/overview");
  if (status !== 200) root.replaceChildren(message(problem(status, body), "error"));
  else renderOverview(body, root);
}

document.addEventListener("DOMContentLoaded", () => {
  const root = document.getElementById("view");
  const show = document.body.dataset.page === "overview" ? showOverview : showTask;
  show(root).catch((error) => root.replaceChildren(message(`The view failed: ${error}`, "error")));
});
