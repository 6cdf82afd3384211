-- Try `iaclint lsp` in Neovim as a person would, headless: open a file, wait for its diagnostics, hover, apply the
-- first quick fix and then the fix-all source action, save, and compare a file with the expected result.
-- Written for Neovim 0.7 (Debian 12's package: vim.lsp.start_client, no plugins); newer versions run it too.
--
--   cp fixtures/rules/KMS001/fail.tf /tmp/ws/main.tf
--   WS=/tmp/ws EXPECTED=fixtures/rules/KMS001/fail.fixed.tf IACLINT=$(command -v iaclint) FIRST=2 SECOND=1 \
--     TRANSCRIPT=/tmp/transcript.txt nvim --headless --clean -u NONE -c "luafile scripts/nvim_try.lua"
--
-- FIRST and SECOND are the numbers of diagnostics expected before and after the quick fix; COMPARE names the file
-- to compare when it is not the one opened (NAME, default main.tf).
local ws = vim.env.WS
local expected_path = vim.fn.fnamemodify(vim.env.EXPECTED, ":p")
local name = vim.env.NAME or "main.tf"
local out = io.open(vim.env.TRANSCRIPT, "w")
local function say(fmt, ...)
  local line = string.format(fmt, ...)
  out:write(line .. "\n"); out:flush()
end
local function read(path)
  local f = assert(io.open(path, "rb")); local s = f:read("*a"); f:close(); return s
end

vim.cmd("cd " .. ws)
local client_id = vim.lsp.start_client({
  name = "iaclint",
  cmd = { vim.env.IACLINT, "lsp" },
  root_dir = ws,
})
-- what lspconfig's FileType autocommand does: every Terraform buffer, including those a workspace edit loads
_G.attach_iaclint = function(bufnr) vim.lsp.buf_attach_client(bufnr, client_id) end
vim.cmd([[autocmd BufReadPost,BufNewFile *.tf,*.tfvars lua attach_iaclint(tonumber(vim.fn.expand("<abuf>")))]])
vim.cmd("edit " .. name)
local buf = vim.api.nvim_get_current_buf()
local client = vim.lsp.get_client_by_id(client_id)
say("nvim %s; started iaclint lsp (client %d) in %s, opened %s", tostring(vim.version().major .. "." .. vim.version().minor .. "." .. vim.version().patch), client_id, ws, name)

local function show(bufnr)
  local ds = vim.diagnostic.get(bufnr)
  table.sort(ds, function(a, b) return a.lnum < b.lnum end)
  for _, d in ipairs(ds) do
    local lsp_d = (d.user_data or {}).lsp or {}
    local code = d.code or lsp_d.code
    local href = lsp_d.codeDescription and lsp_d.codeDescription.href or ""
    say("  %s:%d:%d-%d:%d %s [%s] %s", vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ":."), d.lnum + 1, d.col + 1,
      d.end_lnum + 1, d.end_col + 1, code, vim.diagnostic.severity[d.severity], d.message)
    if href ~= "" then say("      code description: %s", href) end
    for _, r in ipairs(lsp_d.relatedInformation or {}) do
      say("      related: %s:%d:%d %s", vim.fn.fnamemodify(vim.uri_to_fname(r.location.uri), ":."),
        r.location.range.start.line + 1, r.location.range.start.character + 1, r.message)
    end
  end
  return ds
end

local function wait_count(n, what, gone)
  local function settled()
    local ds = vim.diagnostic.get(buf)
    if #ds ~= n then return false end
    for _, d in ipairs(ds) do if d.message == gone then return false end end
    return true
  end
  local ok = vim.wait(30000, settled, 20)
  say("%s: %s (%d diagnostics)", what, ok and "received" or "TIMED OUT", #vim.diagnostic.get(buf))
  return show(buf)
end

local first = wait_count(tonumber(vim.env.FIRST), "waiting for diagnostics")

-- hover over the first flagged place
vim.api.nvim_win_set_cursor(0, { first[1].lnum + 1, first[1].col + 1 })
local hover = vim.lsp.buf_request_sync(buf, "textDocument/hover", vim.lsp.util.make_position_params(), 10000)
for _, r in pairs(hover or {}) do
  local value = r.result and r.result.contents and r.result.contents.value or "(none)"
  say("hover at %d:%d (%s), first lines:", first[1].lnum + 1, first[1].col + 2, r.result.contents.kind)
  local count = 0
  for line in value:gmatch("[^\n]+") do
    count = count + 1
    if count <= 4 then say("  | %s", line) end
  end
  say("  | ... (%d lines)", count)
end

-- code actions on the first diagnostic, as `:lua vim.lsp.buf.code_action()` asks for them
local params = vim.lsp.util.make_range_params()
params.context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(buf) }
local results = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", params, 10000)
local chosen
for _, r in pairs(results or {}) do
  for _, action in ipairs(r.result or {}) do
    say("code action: [%s]%s %s", action.kind, action.isPreferred and " (preferred)" or "", action.title)
    if not chosen and action.title:match("^Fix ") then chosen = action end
  end
end
say("applying: %s", chosen.title)
vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
local after = wait_count(tonumber(vim.env.SECOND), "after the quick fix", first[1].message)

-- the source action: fix all safe problems in this file
if #after > 0 then
  local p2 = vim.lsp.util.make_range_params()
  p2.context = { diagnostics = {}, only = { "source.fixAll" } }
  local res2 = vim.lsp.buf_request_sync(buf, "textDocument/codeAction", p2, 10000)
  local applied = false
  for _, r in pairs(res2 or {}) do
    for _, action in ipairs(r.result or {}) do
      say("source action: [%s] %s", action.kind, action.title)
      vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
      applied = true
    end
  end
  if applied then wait_count(0, "after fix all") else say("no source action: nothing left has a safe fix") end
end

vim.cmd("silent wall")
say("saved (:wall)")
local got = read(ws .. "/" .. (vim.env.COMPARE or name))
local want = read(expected_path)
say("%s on disk %s %s (%d bytes)", vim.env.COMPARE or name, got == want and "is byte for byte" or "DIFFERS from",
  vim.fn.fnamemodify(expected_path, ":t"), #got)
vim.lsp.stop_client(client_id)
vim.wait(2000, function() return vim.lsp.get_client_by_id(client_id) == nil end, 20)
say("server stopped: %s", tostring(vim.lsp.get_client_by_id(client_id) == nil))
out:close()
vim.cmd("qall!")
