"""A PNG figure for every workflow (matplotlib, Agg: no display on CI or in containers)."""


def plot_series(series, path, xlabel="step", ylabel="value", kind="line"):
    """series: {label: [y...]} (line, x = 1..n) or {label: y} (bar)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3))
    if kind == "bar":
        ax.bar(list(series), list(series.values()))
    else:
        for label, ys in series.items():
            ax.plot(range(1, len(ys) + 1), ys, label=label)
        if len(series) > 1:
            ax.legend()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
