from .cli.parser import main

if __name__ == "__main__":  # not when a worker process (index/build.py) imports it
    raise SystemExit(main())
