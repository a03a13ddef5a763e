// Functions the grids name in their options (dash-ag-grid looks them up here).
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

// A grid's CSV export as inert text, as safety/listings/writers.py writes listings: a text cell
// starting with = + - @ TAB or CR gets a leading quote, so a spreadsheet shows it instead of running it.
dagfuncs.inertCsvText = function (value) {
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(value)) {
        return "'" + value;
    }
    return value;
};
