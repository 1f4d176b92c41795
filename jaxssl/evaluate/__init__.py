"""Evaluation of frozen representations: linear probe, kNN, diagnostics, plots and the run report.

Array-level functions: the caller extracts features (or embeddings) once and passes (N, D) arrays.
Accuracies are percentages (0–100); information quantities are in nats.
"""
from jaxssl.evaluate.diagnostics import (alignment, alpha_req, alpha_req_of_spectrum,
                                         cheap_diagnostics, collapse_warning, diagnose,
                                         effective_rank, eigenspectrum, embedding_std, infonce_mi,
                                         is_collapsed, kl_entropy_projected, ksg_mi_projected,
                                         lidar, normalised_std, random_projection, rankme,
                                         uniformity)
from jaxssl.evaluate.knn import knn_accuracy, knn_classify
from jaxssl.evaluate.linear_probe import linear_probe
from jaxssl.evaluate.plots import (pca_2d, plot_accuracy, plot_eigenspectrum, plot_embedding_2d,
                                   plot_information, plot_loss_terms, plot_metrics,
                                   plot_online_diagnostics, read_metrics)
from jaxssl.evaluate.report import write_report

__all__ = [
    "linear_probe", "knn_classify", "knn_accuracy",
    "rankme", "lidar", "alpha_req", "alpha_req_of_spectrum", "effective_rank", "eigenspectrum",
    "alignment", "uniformity", "normalised_std", "embedding_std",
    "infonce_mi", "ksg_mi_projected", "kl_entropy_projected", "random_projection", "diagnose",
    "is_collapsed", "collapse_warning", "cheap_diagnostics",
    "read_metrics", "plot_metrics", "plot_loss_terms", "plot_accuracy", "plot_information",
    "plot_eigenspectrum", "plot_embedding_2d", "pca_2d", "plot_online_diagnostics",
    "write_report",
]
