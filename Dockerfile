# A workshop machine: PyTorch, xai_widgets with its JS bundle, the notebooks, JupyterLab.
#
# GPU (a rented CUDA machine; needs the NVIDIA container toolkit on the host):
#   docker build -t xai-widgets .
#   docker run --gpus all -p 8888:8888 xai-widgets
# CPU only (a laptop, a classroom server):
#   docker build --build-arg VARIANT=cpu -t xai-widgets-cpu .
#   docker run -p 8888:8888 xai-widgets-cpu
# Then open the http://127.0.0.1:8888/lab?token=... address the container prints.
# Both variants share every step after their base: the same package, version and notebooks.

ARG VARIANT=gpu
ARG XAI_WIDGETS_VERSION=0.1.0

# The front-end bundle, built once with Node.js (the Python image needs no Node.js then).
FROM node:20-slim AS bundle
WORKDIR /src/js
COPY js/package.json js/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY js/ ./
RUN npm run build

# GPU base: CUDA PyTorch with torchvision.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime AS gpu-base

# CPU base: PyTorch's CPU-only wheels (the default index's CUDA builds bring gigabytes of GPU libraries).
FROM python:3.11-slim AS cpu-base
RUN pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch torchvision

FROM ${VARIANT}-base AS workshop
ARG XAI_WIDGETS_VERSION
LABEL org.opencontainers.image.title="xai-widgets workshop" \
      org.opencontainers.image.version="${XAI_WIDGETS_VERSION}"
WORKDIR /workshop
COPY pyproject.toml README.md ./
COPY xai_widgets/ xai_widgets/
COPY --from=bundle /src/xai_widgets/static/ xai_widgets/static/
# The bundle is there, so the wheel build skips npm (pyproject's skip-if-exists).
RUN pip install --no-cache-dir ".[demo]" \
 && python -c "import xai_widgets, importlib.metadata as m; assert m.version('xai_widgets') == '${XAI_WIDGETS_VERSION}'"
COPY notebooks/ notebooks/
# Freed tensors go back to the system at once (as binder/start does; tests/test_notebooks.py).
ENV MALLOC_MMAP_THRESHOLD_=131072
EXPOSE 8888
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--allow-root", \
     "--ServerApp.root_dir=/workshop", "--LabApp.default_url=/lab/tree/notebooks/01_quickstart.ipynb"]
