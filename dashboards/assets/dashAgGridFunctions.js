// Functions the grids name in their options (dash-ag-grid looks them up here).
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

// A grid's CSV export as inert text, the rule of safety/listings/writers.py `inert_text`: a text cell
// starting with = + - @ TAB or CR, also after leading whitespace, gets a leading quote, so a
// spreadsheet shows it instead of running it.
dagfuncs.inertCsvText = function (value) {
    if (typeof value === "string" && /^\s*[=+\-@\t\r]/.test(value)) {
        return "'" + value;
    }
    return value;
};
