from source_orderdesk.run import run

if __name__ == "__main__":
    run()
